import { deploymentSetting } from '../../workers/deployment';

// An image without .git: the code version is only the package version.
jest.mock('../../activities/store/code-version', () => ({ codeVersion: async () => 'v0.1.0' }));

describe('deployment setting of a worker whose code is not a git checkout', () => {
  it('is refused without AGENTARK_BUILD_ID, naming the variable and how to set it', async () => {
    await expect(deploymentSetting({ AGENTARK_DEPLOYMENT_NAME: 'agentark' })).rejects.toThrow(/AGENTARK_BUILD_ID must be set.*"v0\.1\.0".*--build-arg/);
  });

  it('takes the build id it is given', async () => {
    expect(await deploymentSetting({ AGENTARK_DEPLOYMENT_NAME: 'agentark', AGENTARK_BUILD_ID: ' v0.1.0+abc123 ' })).toEqual({ name: 'agentark', buildId: 'v0.1.0+abc123' });
  });

  it('is off without a deployment name, whatever the build id', async () => {
    expect(await deploymentSetting({ AGENTARK_BUILD_ID: 'x' })).toBeUndefined();
  });
});
