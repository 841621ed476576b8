// Every workflow type the main worker registers.
export { probeTeacher } from './probe-teacher';
export { debateProblem } from './debate-problem';
export { generateDebates } from './generate-debates';
export { trainStudent } from './train-student';
export { evaluateStudent } from './evaluate-student';
export { distillPipeline } from './distill-pipeline';
export { nightlyEvaluation } from './nightly-evaluation';
