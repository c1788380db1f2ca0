import type { LimitReport } from '../packaging/limits.js';
import { formatBytes } from '../log.js';
import { describeAliasState, type AliasState } from '../release/traffic/alias-plan.js';
import type { ChangeDecision } from '../release/function/change.js';
import type { Built, ImageBuilt, ZipBuilt } from '../packaging/built.js';
import type { PushResult } from '../packaging/image/push.js';
import { code, type JobReport } from './job-report.js';

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

/** What was built: layer (cached or built), bundle, and sizes against Lambda's limit. */
export function reportBuild(report: JobReport, built: ZipBuilt, limits: LimitReport): void {
  const { layer, bundle } = built;
  const rows: string[][] = [];
  if (layer.status === 'none') {
    rows.push(['dependency layer', 'none (no requirements file)', '', '', '']);
  } else {
    const how =
      layer.status === 'cached'
        ? '♻️ cached: no build, no upload, no publish'
        : layer.status === 'planned'
          ? '🔍 built, not published (dry run)'
          : `🔨 built${layer.uploaded ? ', uploaded' : ', upload skipped (already in S3)'}, published`;
    const extra = [
      layer.slim?.bytesSaved
        ? `slimmed ${formatBytes(layer.slim.bytesBefore)} → ${formatBytes(layer.slim.bytesBefore - layer.slim.bytesSaved)}`
        : '',
      layer.bytecode?.compiled
        ? `${layer.bytecode.compiled} .pyc (hash-based, Python ${layer.bytecode.python ?? '?'})`
        : (layer.bytecode?.skipped ?? ''),
    ].filter(Boolean);
    rows.push([
      'dependency layer',
      [how, ...extra].join('; '),
      layer.unzippedBytes !== undefined ? formatBytes(layer.unzippedBytes) : '?',
      layer.zippedBytes !== undefined ? formatBytes(layer.zippedBytes) : '—',
      `key ${code((layer.key ?? '').slice(0, 16))}${layer.layerVersionArn ? `<br>${code(layer.layerVersionArn)}` : ''}`,
    ]);
  }
  rows.push([
    'function bundle',
    `${bundle.files} files (${bundle.stored} stored, ${bundle.deflated} deflated); ${bundle.bytecode.compiled} .pyc${bundle.bytecode.skipped ? ` (${bundle.bytecode.skipped})` : ''}`,
    formatBytes(bundle.unzippedBytes),
    formatBytes(bundle.zippedBytes),
    `sha256 ${code(bundle.sha256Hex.slice(0, 16))}<br>CodeSha256 ${code(bundle.codeSha256)}`,
  ]);
  report.table('Build', ['part', 'how', 'unzipped', 'zipped', 'identity'], rows);

  const sizeRows = limits.parts.map((p) => [p.name, formatBytes(p.bytes), percent(p.share)]);
  sizeRows.push([
    '**total**',
    `**${formatBytes(limits.totalBytes)}**`,
    `**${percent(limits.share)}** of ${formatBytes(limits.limitBytes)}`,
  ]);
  report.table(
    'Size against Lambda’s unzipped limit (250 MB)',
    ['part', 'unzipped', 'share of limit'],
    sizeRows,
  );
}

/** Dry run: what a real run would upload, publish and move. */
export function reportPlan(
  report: JobReport,
  built: Built,
  decision: ChangeDecision,
  alias: AliasState,
  aliasName: string,
): void {
  const lines: string[] = [];
  const what = built.kind === 'zip' ? 'bundle' : 'image';
  const ship =
    built.kind === 'zip'
      ? `upload the bundle to ${code(built.bundleKey)}`
      : `push the image ${code(built.image.manifest.digest)} (blobs already in the repository skipped)`;
  if (built.kind === 'zip' && built.layer.status === 'planned')
    lines.push(
      `- upload the layer to ${code(built.layer.s3Key ?? '')} and publish a new layer version`,
    );
  if (built.kind === 'zip' && built.layer.status === 'cached')
    lines.push(`- reuse layer ${code(built.layer.layerVersionArn ?? '')}`);
  switch (decision.kind) {
    case 'create':
      lines.push(`- ${ship}, create the function, publish version 1`);
      break;
    case 'update':
      if (decision.code)
        lines.push(`- ${ship} (skipped if already there) and update the function code`);
      if (decision.config) lines.push('- update the function configuration');
      lines.push('- publish a new version and run the smoke tests on it');
      break;
    case 'publish-only':
      lines.push(`- publish $LATEST (it already holds this ${what}) and run the smoke tests on it`);
      break;
    case 'unchanged':
      lines.push(
        `- nothing: \`${aliasName}\` already serves version ${decision.version} with this ${what}`,
      );
      break;
  }
  if (decision.kind !== 'unchanged') {
    lines.push(
      `- then move \`${aliasName}\` (now: ${alias.exists ? describeAliasState(alias) : 'does not exist'}) to the new version`,
    );
  }
  report.section('Dry run: what would happen', lines);
}

/** What the image holds: each layer (base, dependencies, model, code) with its size and digest. */
export function reportImageBuild(report: JobReport, built: ImageBuilt): void {
  const { image } = built;
  const rows: string[][] = [
    [
      `base ${code(image.base.ref)}`,
      `${image.base.manifest.layers.length} layers`,
      '',
      formatBytes(image.base.manifest.layers.reduce((sum, l) => sum + l.size, 0)),
      '',
    ],
    ...image.layers.map((l) => [
      `${l.name} layer`,
      `${l.files} files${l.compression === 'stored' ? ', stored' : ', gzip'}${l.blob ? '' : ', reused from the repository (not rebuilt)'}`,
      formatBytes(l.contentBytes),
      formatBytes(l.size),
      code(l.digest.slice(0, 19)),
    ]),
  ];
  const deps = built.dependencies;
  const notes = [
    deps.files
      ? `dependencies: ${deps.files} files`
      : 'no requirements file: no dependencies layer',
    deps.slim?.bytesSaved ? `slimmed by ${formatBytes(deps.slim.bytesSaved)}` : '',
    deps.bytecode?.compiled ? `${deps.bytecode.compiled} .pyc (hash-based)` : '',
    `handler: ${built.bytecode.compiled} .pyc`,
  ].filter(Boolean);
  report.table('Image', ['part', 'how', 'content', 'compressed', 'digest'], rows);
  report.section('Image identity', [
    `Digest ${code(image.manifest.digest)} (CodeSha256 ${code(built.codeSha256)}); ` +
      `${formatBytes(image.compressedBytes)} compressed in all, against Lambda's 10 GB image limit. ` +
      notes.join('; ') +
      '.',
  ]);
}

/** What the push sent and what it skipped. */
export function reportPush(
  report: JobReport,
  imageUri: string,
  push: PushResult | undefined,
): void {
  if (!push) {
    report.section('Image push', [
      `Nothing pushed: the function already runs ${code(imageUri)} (0 blobs).`,
    ]);
    return;
  }
  report.section('Image push', [
    `${code(imageUri)}: ${push.blobsPushed} blobs pushed (${formatBytes(push.bytesPushed)} with the manifest), ` +
      `${push.blobsSkipped} already in the repository, ${push.blobsMounted} mounted; tag ${code(push.tag)}.`,
    ...push.pushed.map(
      (p) => `- ${p.name}: ${formatBytes(p.bytes)} ${code(p.digest.slice(0, 19))}`,
    ),
  ]);
}
