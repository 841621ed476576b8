// Every workflow type the main worker registers.
export { probeTeacher } from './probe-teacher';
export { debateProblem } from './debate-problem';
export { generateDebates } from './generate-debates';
export { trainStudent } from './train-student';
