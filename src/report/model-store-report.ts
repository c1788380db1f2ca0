import { formatBytes } from '../log.js';
import { MANIFEST_ENV } from '../packaging/model-manifest.js';
import type { ModelStoreBuilt } from '../packaging/model-store.js';
import { code, type JobReport } from './job-report.js';

/** model-store s3: the files the manifest pins and the /tmp they need. */
export function reportModelStore(report: JobReport, built: ModelStoreBuilt): void {
  const { plan } = built;
  report.table(
    'Model store (S3)',
    ['file', 'size', 'sha256'],
    plan.manifest.files.map((f) => [
      code(f.path),
      formatBytes(f.size),
      code(f.sha256.slice(0, 16)),
    ]),
  );
  report.section('Model manifest', [
    `${code(MANIFEST_ENV)} = ${code(plan.manifestUri)} (${formatBytes(plan.totalBytes)}).`,
    built.ephemeralMb === undefined
      ? `ephemeral-storage: left as it is (the model needs ${built.requiredMb} MB, Lambda's default is 512 MB).`
      : `ephemeral-storage: ${built.ephemeralMb} MB (${built.sizedEphemeral ? 'sized from the model' : 'as given'}; the model needs ${built.requiredMb} MB with margin).`,
  ]);
}
