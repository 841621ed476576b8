// Activities of the main worker (CPU: store, datasets, verification, reports).
export { putJsonArtifact } from './artifacts';
