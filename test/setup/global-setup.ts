// Placeholder: replaced by the real service start-up (infra/dev) shortly.
export default async function globalSetup(): Promise<void> {}
