import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { s3ClientFromEnv } from '../../../activities/store/s3-client';

/**
 * The S3 side of the store tests talks to the real local SeaweedFS. jest's global setup exports
 * its environment; these defaults only apply when a test file runs without it.
 */
export const TEST_BUCKET = 'agentark';

export function useLocalS3Env(): void {
  process.env.AWS_ENDPOINT_URL_S3 ??= 'http://127.0.0.1:8333';
  process.env.AWS_ACCESS_KEY_ID ??= 'agentark';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'agentark';
  process.env.AWS_REGION ??= 'us-east-1';
}

export async function ensureBucket(bucket = TEST_BUCKET): Promise<void> {
  try {
    await s3ClientFromEnv().send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}

/** Removes every object under a prefix, so test runs leave the shared bucket as they found it. */
export async function emptyPrefix(prefix: string, bucket = TEST_BUCKET): Promise<void> {
  const client = s3ClientFromEnv();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
