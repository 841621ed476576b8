// Activities of the llm worker (task queue agentark-llm).
export { chatCompletion } from './chat';
