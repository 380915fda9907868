import { Option } from 'commander';

/** Shared flags, each with an environment fallback so scripts need not repeat them. */
export const configOption = (): Option =>
  new Option(
    '--config <dir>',
    'config directory (inventory.yaml, warden.yaml, policy.yaml, router.yaml, playbooks/)',
  )
    .env('WARDEN_CONFIG')
    .default('examples/demo');

export const dataOption = (): Option =>
  new Option('--data <dir>', 'data directory of the embedded store')
    .env('WARDEN_DATA')
    .default('.warden-data');

export function positiveInteger(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`${name} must be a non-negative integer (got "${value}")`);
    return n;
  };
}
