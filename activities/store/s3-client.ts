import { S3Client } from '@aws-sdk/client-s3';

/**
 * An S3 client configured from the standard AWS environment, so the same code talks to AWS S3
 * and to any S3-compatible store (SeaweedFS, MinIO, R2...). Credentials come from the SDK's
 * default chain (env, profile, instance role).
 */
export function s3ClientFromEnv(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return new S3Client({
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    ...(endpoint
      ? {
          endpoint,
          // S3-compatible servers rarely resolve virtual-host bucket names like bucket.127.0.0.1.
          forcePathStyle: true,
          // Default CRC checksums on every request are not understood by all compatible servers.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
  });
}
