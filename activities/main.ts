// Activities of the main worker (CPU: store, datasets, verification, reports).
export { putJsonArtifact } from './artifacts';
export { prepareProblems, problemsPage, settleInFlight, writeDebate } from './debate';
export { buildDatasets } from './datasets/build-datasets';
export { findTrainJob, resolveTrainingData } from './trainer/training-inputs';
export { resolveEvalModels } from './evaluation/eval-models';
export { prepareTestSet } from './evaluation/test-sets';
export { masLines, scoreGenerations, writeEvaluation } from './evaluation/scores';
export { buildReport } from './report/build-report';
export { recordPipeline, stageFinished } from './pipeline-records';
export { nightlyModels, previousNight, recordNight } from './nightly';
export { freezeRunConfig } from './run-config';
export { taskQueuePollers } from './task-queue-check';
