import {
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
  type LambdaClient,
  type LayerVersionsListItem,
  type Runtime,
} from '@aws-sdk/client-lambda';
import { ActionError, errorCode, errorMessage, httpStatus } from '../errors.js';
import type { Logger } from '../log.js';
import { withRetry, type Sleep } from '../retry.js';
import type { Architecture } from '../settings.js';
import { layerDescription, parseLayerDescription } from './layer-key.js';

/**
 * The layer cache lives in Lambda itself: every layer version this action publishes carries its
 * key in the description, so finding a version with the same key means the same dependencies are
 * already published and nothing needs building, uploading or publishing.
 */

export interface CacheHit {
  layerVersionArn: string;
  version: number;
  /** Unzipped size recorded when it was published (absent for versions published without it). */
  unzippedBytes?: number;
}

export interface RetryDeps {
  sleep?: Sleep;
  logger?: Logger;
}

function retryOptions(deps: RetryDeps, what: string) {
  return {
    sleep: deps.sleep,
    onRetry: (error: unknown, attempt: number, delayMs: number) =>
      deps.logger?.info(
        `${what}: ${errorMessage(error)}; retrying in ${Math.round(delayMs / 100) / 10} s (attempt ${attempt + 1})`,
      ),
  };
}

function notFound(error: unknown): boolean {
  return errorCode(error) === 'ResourceNotFoundException' || httpStatus(error) === 404;
}

/** Looks for a version of `layerName` whose description carries `key`; the newest one wins. */
export async function findCachedLayer(
  lambda: LambdaClient,
  layerName: string,
  key: string,
  deps: RetryDeps = {},
): Promise<CacheHit | undefined> {
  let marker: string | undefined;
  let best: LayerVersionsListItem | undefined;
  do {
    let page;
    try {
      page = await withRetry(
        () =>
          lambda.send(
            new ListLayerVersionsCommand({ LayerName: layerName, Marker: marker, MaxItems: 50 }),
          ),
        retryOptions(deps, `ListLayerVersions ${layerName}`),
      );
    } catch (error) {
      if (notFound(error)) return undefined;
      if (errorCode(error) === 'AccessDeniedException' || httpStatus(error) === 403) {
        throw new ActionError(
          `Listing the versions of layer ${layerName} was denied: the role needs lambda:ListLayerVersions (and lambda:PublishLayerVersion, lambda:GetLayerVersion) on arn:aws:lambda:*:*:layer:${layerName}. ${errorMessage(error)}`,
        );
      }
      throw error;
    }
    for (const item of page.LayerVersions ?? []) {
      if (parseLayerDescription(item.Description)?.key !== key) continue;
      if (!best || (item.Version ?? 0) > (best.Version ?? 0)) best = item;
    }
    marker = page.NextMarker;
  } while (marker);
  if (!best?.LayerVersionArn) return undefined;
  const parsed = parseLayerDescription(best.Description);
  return {
    layerVersionArn: best.LayerVersionArn,
    version: best.Version ?? 0,
    ...(parsed?.unzippedBytes !== undefined ? { unzippedBytes: parsed.unzippedBytes } : {}),
  };
}

export interface PublishLayerOptions {
  layerName: string;
  s3Bucket: string;
  s3Key: string;
  runtime: string;
  architecture: Architecture;
  key: string;
  unzippedBytes?: number;
  /** Overrides the generated description (it must still carry the key to be found again). */
  description?: string;
}

export interface PublishedLayer {
  layerVersionArn: string;
  version: number;
  codeSize?: number;
}

/** Publishes a layer version from the uploaded zip, with the runtime, architecture and key; retried on throttling. */
export async function publishLayer(
  lambda: LambdaClient,
  options: PublishLayerOptions,
  deps: RetryDeps = {},
): Promise<PublishedLayer> {
  const description =
    options.description ??
    layerDescription({
      key: options.key,
      unzippedBytes: options.unzippedBytes,
      runtime: options.runtime,
      architecture: options.architecture,
    });
  const response = await withRetry(
    () =>
      lambda.send(
        new PublishLayerVersionCommand({
          LayerName: options.layerName,
          Description: description,
          Content: { S3Bucket: options.s3Bucket, S3Key: options.s3Key },
          CompatibleRuntimes: [options.runtime as Runtime],
          CompatibleArchitectures: [options.architecture],
        }),
      ),
    retryOptions(deps, `PublishLayerVersion ${options.layerName}`),
  ).catch((error: unknown) => {
    if (errorCode(error) === 'AccessDeniedException' || httpStatus(error) === 403) {
      throw new ActionError(
        `Publishing layer ${options.layerName} was denied: the role needs lambda:PublishLayerVersion on the layer and s3:GetObject on s3://${options.s3Bucket}/${options.s3Key}. ${errorMessage(error)}`,
      );
    }
    throw error;
  });
  if (!response.LayerVersionArn)
    throw new ActionError(
      `PublishLayerVersion for ${options.layerName} returned no LayerVersionArn.`,
    );
  return {
    layerVersionArn: response.LayerVersionArn,
    version: response.Version ?? 0,
    codeSize: response.Content?.CodeSize,
  };
}
