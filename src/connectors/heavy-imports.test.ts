import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Packages that take long and much memory to load (the AWS SDK clients: over
 * half a second and about 15 MB of heap in each thread that loads one). The
 * connectors load them on their first call; a value import here would load
 * them in every thread that reads the connector types, configured or not.
 */
const HEAVY = [/^@aws-sdk\//, /^nodemailer\/lib\/(mail-composer|smtp-connection)/];

const SRC = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry.name) && !/\.test(-support)?\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** Static `import … from 'x'` and `export … from 'x'` statements, with whether each is type-only. */
function staticImports(text: string): { from: string; typeOnly: boolean }[] {
  const out: { from: string; typeOnly: boolean }[] = [];
  for (const match of text.matchAll(/^(import|export)(\s+type)?\s[^;]*?from\s+'([^']+)'/gms)) {
    out.push({ from: match[3] as string, typeOnly: match[2] !== undefined });
  }
  return out;
}

describe('heavy packages', () => {
  it('finds the imports it checks (the check itself works)', () => {
    expect(staticImports("import type * as Ec2 from '@aws-sdk/client-ec2';")).toEqual([
      { from: '@aws-sdk/client-ec2', typeOnly: true },
    ]);
    expect(staticImports("import {\n  EC2Client,\n} from '@aws-sdk/client-ec2';")).toEqual([
      { from: '@aws-sdk/client-ec2', typeOnly: false },
    ]);
  });

  it('are imported for their types only; their code is loaded by the first call that needs it', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      for (const { from, typeOnly } of staticImports(readFileSync(file, 'utf8'))) {
        if (!typeOnly && HEAVY.some((pattern) => pattern.test(from))) {
          offenders.push(`${file.slice(SRC.length)} imports ${from}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
