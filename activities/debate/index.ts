// Activities of the debate stage that run on the main worker.
export { prepareProblems, problemsPage } from './problems';
export { writeDebate } from './write-debate';
export { settleInFlight } from './settle';
