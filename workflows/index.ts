// Every workflow type the main worker registers.
export { probeTeacher } from './probe-teacher';
