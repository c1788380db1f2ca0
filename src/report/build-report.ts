import type { LimitReport } from '../packaging/limits.js';
import { formatBytes } from '../log.js';
import { describeAliasState, type AliasState } from '../release/traffic/alias-plan.js';
import type { ChangeDecision } from '../release/function/change.js';
import type { Built } from '../packaging/built.js';
import { code, type JobReport } from './job-report.js';

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

/** What was built: layer (cached or built), bundle, and sizes against Lambda's limit. */
export function reportBuild(report: JobReport, built: Built, limits: LimitReport): void {
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
  if (built.layer.status === 'planned')
    lines.push(
      `- upload the layer to ${code(built.layer.s3Key ?? '')} and publish a new layer version`,
    );
  if (built.layer.status === 'cached')
    lines.push(`- reuse layer ${code(built.layer.layerVersionArn ?? '')}`);
  switch (decision.kind) {
    case 'create':
      lines.push(
        `- upload the bundle to ${code(built.bundleKey)}, create the function, publish version 1`,
      );
      break;
    case 'update':
      if (decision.code)
        lines.push(
          `- upload the bundle to ${code(built.bundleKey)} (skipped if already there) and update the function code`,
        );
      if (decision.config) lines.push('- update the function configuration');
      lines.push('- publish a new version and run the smoke tests on it');
      break;
    case 'publish-only':
      lines.push('- publish $LATEST (it already holds this bundle) and run the smoke tests on it');
      break;
    case 'unchanged':
      lines.push(
        `- nothing: \`${aliasName}\` already serves version ${decision.version} with this bundle`,
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
