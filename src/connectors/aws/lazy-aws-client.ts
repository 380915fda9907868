/**
 * An AWS SDK client package and one client of it, loaded on first use. A
 * client package takes over half a second and about 15 MB of heap to load,
 * in every thread that loads it: a connector loads it on its first call,
 * not every process that reads the connector types.
 */
export class LazyAwsClient<Sdk, Client> {
  private loaded?: { sdk: Sdk; client: Client };

  constructor(
    private readonly owner: string,
    private readonly loadSdk: () => Promise<Sdk>,
    private readonly makeClient: (sdk: Sdk) => Client,
  ) {}

  /** Call (and await) before `sdk` or `client`; it loads once. */
  async load(): Promise<void> {
    if (this.loaded) return;
    const sdk = await this.loadSdk();
    this.loaded ??= { sdk, client: this.makeClient(sdk) };
  }

  get sdk(): Sdk {
    return this.ready().sdk;
  }

  get client(): Client {
    return this.ready().client;
  }

  private ready(): { sdk: Sdk; client: Client } {
    if (!this.loaded) throw new Error(`${this.owner}: the AWS SDK is used before it was loaded`);
    return this.loaded;
  }
}
