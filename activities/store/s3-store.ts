import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { validateKey, validatePrefix } from '../../core/keys';
import type { ObjectStat } from './artifact-store';
import { BaseStore } from './base-store';
import { ArtifactNotFound, ArtifactStoreError } from './errors';

/** Objects above one part are uploaded in parts, so a large body or stream never sits in one request. */
export const PART_SIZE = 8 * 1024 * 1024;

interface AwsError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

function isNotFound(error: unknown): boolean {
  const { name, $metadata } = error as AwsError;
  return name === 'NoSuchKey' || name === 'NotFound' || (name !== 'NoSuchBucket' && $metadata?.httpStatusCode === 404);
}

function contentTypeOf(key: string): string {
  if (key.endsWith('.jsonl')) return 'application/x-ndjson';
  if (key.endsWith('.json')) return 'application/json';
  if (key.endsWith('.md') || key.endsWith('.txt')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

export class S3Store extends BaseStore {
  readonly url: string;
  private readonly prefix: string;

  constructor(private readonly client: S3Client, readonly bucket: string, prefix = '') {
    super();
    this.prefix = prefix.replace(/^\/+|\/+$/g, '');
    if (this.prefix !== '') validateKey(this.prefix);
    this.url = `s3://${bucket}${this.prefix ? `/${this.prefix}` : ''}`;
  }

  private objectKey(key: string): string {
    validateKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private wrap(error: unknown, key: string): Error {
    if (isNotFound(error)) return new ArtifactNotFound(this.urlOf(key));
    if ((error as AwsError).name === 'NoSuchBucket') {
      return new ArtifactStoreError(`bucket '${this.bucket}' does not exist (while accessing ${this.urlOf(key)})`, { cause: error });
    }
    return error instanceof Error ? error : new ArtifactStoreError(String(error), { cause: error });
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    await this.upload(key, typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  }

  async writeStream(key: string, chunks: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>): Promise<{ bytes: number }> {
    let bytes = 0;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of chunks) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        bytes += buffer.length;
        yield buffer;
      }
    }
    await this.upload(key, Readable.from(counted()));
    return { bytes };
  }

  /**
   * Atomic by S3's own rules: a single PUT or a multipart upload becomes visible only when it
   * completes, and Upload aborts the multipart upload when the body fails, so a source that
   * throws midway leaves nothing under the key.
   */
  private async upload(key: string, body: Buffer | Readable): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.objectKey(key), Body: body, ContentType: contentTypeOf(key) },
      partSize: PART_SIZE,
      queueSize: 4,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      if (body instanceof Readable) body.destroy();
      throw this.wrap(error, key);
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      if (!response.Body) return Buffer.alloc(0);
      return Buffer.from(await response.Body.transformToByteArray());
    } catch (error) {
      throw this.wrap(error, key);
    }
  }

  async *readStream(key: string): AsyncGenerator<Buffer> {
    let body: Readable;
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      body = response.Body as Readable;
    } catch (error) {
      throw this.wrap(error, key);
    }
    if (!body) return;
    yield* body as AsyncIterable<Buffer>;
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw this.wrap(error, key);
    }
  }

  async stat(key: string): Promise<ObjectStat> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { size: head.ContentLength ?? 0, etag: head.ETag ?? `${head.ContentLength}-${head.LastModified?.getTime()}` };
    } catch (error) {
      if (isNotFound(error)) throw new ArtifactNotFound(this.urlOf(key));
      throw this.wrap(error, key);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    } catch (error) {
      if (!isNotFound(error)) throw this.wrap(error, key);
    }
  }

  async *list(prefix = ''): AsyncGenerator<string> {
    validatePrefix(prefix);
    const base = this.prefix ? `${this.prefix}/` : '';
    const pages = paginateListObjectsV2({ client: this.client, pageSize: 1000 }, { Bucket: this.bucket, Prefix: base + prefix });
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          if (object.Key !== undefined) yield object.Key.slice(base.length);
        }
      }
    } catch (error) {
      throw this.wrap(error, prefix || '.');
    }
  }
}
