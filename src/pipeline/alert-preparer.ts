import { encodeAlert, severityLabel, type AlertDraft, type EncodedAlert } from '../core/alert.js';
import { dedupKeyOf } from '../core/dedup-key.js';
import { enrichAlert } from '../core/enrichment.js';
import { uuidv7 } from '../core/ids.js';
import { isoTime } from '../core/iso-time.js';
import type { InventoryIndex } from '../core/inventory.js';

/**
 * Turns a source format's draft into an alert ready to store: identity,
 * dedup key, enrichment from the inventory, JSON written. Pure CPU work, done
 * on the request's thread so the writer only writes.
 */
export class AlertPreparer {
  constructor(
    private readonly inventory: InventoryIndex,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** `rawText`: the payload's text as received, stored verbatim when given. */
  prepare(draft: AlertDraft, rawText?: string): EncodedAlert {
    const now = this.clock();
    const { dedupKey: _explicit, ...rest } = draft;
    return encodeAlert(
      {
        ...rest,
        id: uuidv7(now.getTime()),
        dedupKey: dedupKeyOf(draft),
        severity: severityLabel(draft.severityId),
        receivedAt: isoTime(now.getTime()),
        enrichment: enrichAlert(draft, this.inventory),
      },
      rawText,
    );
  }
}
