import {
  InvokeCommand,
  UpdateFunctionCodeCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import yazl from 'yazl';

/** What the poisoned $LATEST answers to every event: no smoke case of the iris example passes. */
export const POISONED = { species: 'poisoned-latest', statusCode: 500, body: '{}' };

async function poisonedZip(): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const source = `def lambda_handler(event, context):\n    return ${JSON.stringify(POISONED)}\n`;
  zip.addBuffer(Buffer.from(source), 'lambda_function.py', {
    mtime: new Date('2024-01-01T00:00:00Z'),
    mode: 0o100644,
  });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Replaces $LATEST's code (only $LATEST: published versions keep theirs) with a handler that fails
 * every smoke case, and checks that it does answer so. A step that still passes its smoke tests
 * afterwards ran them on a published version, not on $LATEST.
 */
export async function poisonLatest(lambda: LambdaClient, functionName: string): Promise<void> {
  await lambda.send(
    new UpdateFunctionCodeCommand({ FunctionName: functionName, ZipFile: await poisonedZip() }),
  );
  const answer = await lambda.send(
    new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from('{}') }),
  );
  const payload = JSON.parse(Buffer.from(answer.Payload ?? new Uint8Array()).toString('utf8'));
  if (payload?.species !== POISONED.species) {
    throw new Error(`$LATEST of ${functionName} was not poisoned: ${JSON.stringify(payload)}`);
  }
}
