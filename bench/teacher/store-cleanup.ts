import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DeleteObjectsCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { s3ClientFromEnv } from '../../activities/store/s3-client';

/**
 * Removes a figure's store prefix once it is measured: a 20,000-problem run leaves a cached reply
 * per call, and nothing reads them again (every figure has its own prefix). S3 objects go a
 * thousand per request, which one-by-one deletes would take an hour over.
 */
export async function removeStorePrefix(url: string): Promise<number> {
  const s3 = /^s3:\/\/([^/]+)\/(.+?)\/*$/i.exec(url);
  if (s3) {
    const [, bucket, prefix] = s3;
    const client = s3ClientFromEnv();
    let removed = 0;
    try {
      for await (const page of paginateListObjectsV2({ client, pageSize: 1000 }, { Bucket: bucket, Prefix: `${prefix}/` })) {
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length === 0) continue;
        await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
        removed += keys.length;
      }
    } finally {
      client.destroy();
    }
    return removed;
  }
  if (url.startsWith('file://')) {
    fs.rmSync(fileURLToPath(url), { recursive: true, force: true });
    return 0;
  }
  throw new Error(`not a store URL the bench cleans up: ${url}`);
}
