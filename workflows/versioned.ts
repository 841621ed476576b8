import { setWorkflowOptions } from '@temporalio/workflow';
import { distillPipeline } from './distill-pipeline';

/**
 * The workflows of a versioned main worker (Worker Versioning on, ../workers/deployment.ts): every one
 * of ./index, PINNED by the worker's default, except distillPipeline. A run lasts as long as its debates
 * and trainings, so it moves to each new build made current (AUTO_UPGRADE), which its patched() branches
 * and the earlier releases' replay fixtures keep safe.
 *
 * The declaration lives in this bundle, not beside the workflow, so it follows the worker that runs each
 * task: a pipeline started before versioning was on takes it at its first task on a versioned worker,
 * and an unversioned worker (whose every workflow task the server refuses if it declares a behavior)
 * never has it, whatever its history says.
 */
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, distillPipeline);

export * from './index';
