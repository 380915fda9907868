/**
 * A one-line progress bar on stderr. Redrawn in place on a terminal; on a
 * pipe it prints a line every 10% so CI logs stay readable.
 */
export class ProgressBar {
  private done = 0;
  private lastDecile = -1;
  private lastDraw = 0;
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Items counted so far. */
  get count(): number {
    return this.done;
  }

  advance(n: number): void {
    this.done += n;
    const now = Date.now();
    if (this.stream.isTTY) {
      if (now - this.lastDraw > 100 || this.done >= this.total) {
        this.lastDraw = now;
        this.stream.write(`\r${this.line()}`);
      }
      return;
    }
    const decile = Math.floor((this.done / this.total) * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${this.line()}\n`);
    }
  }

  finish(): void {
    if (this.stream.isTTY) this.stream.write(`\r${this.line()}\n`);
  }

  private line(): string {
    const fraction = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const width = 30;
    const filled = Math.round(fraction * width);
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const rate = Math.round(this.done / seconds);
    return `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(fraction * 100)}% ${this.done.toLocaleString('en')}/${this.total.toLocaleString('en')} ${rate.toLocaleString('en')}/s`;
  }
}
