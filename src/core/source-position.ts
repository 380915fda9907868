/**
 * Where a piece of configuration was written, so decisions taken from it can
 * point a reader at the exact line (`policy.yaml:31:5`).
 */
export interface SourcePosition {
  readonly file: string;
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly column: number;
}

export function formatPosition(position: SourcePosition): string {
  return `${position.file}:${position.line}:${position.column}`;
}
