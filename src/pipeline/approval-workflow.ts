import { inScope, type Principal } from '../core/access.js';
import { WardenError } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import type { ApprovalFilter, ApprovalRecord, Page, PageRequest, Store } from '../store/store.js';

export interface ApprovalDecision {
  approve: boolean;
  comment?: string;
}

/**
 * People answering the approvals playbooks ask for. An answer is one
 * transaction: the approval, the case timeline, the audit entry (with the
 * approver's identity) and a wake-up for the waiting run, which the
 * executor then carries on.
 */
export class ApprovalWorkflow {
  constructor(
    private readonly store: Store,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  list(
    principal: Principal,
    filter: ApprovalFilter,
    page: PageRequest,
  ): Promise<Page<ApprovalRecord>> {
    return this.store.listApprovals(
      { ...filter, ...(principal.units ? { scopeUnits: principal.units } : {}) },
      page,
    );
  }

  /** An approval the principal may see, or `not_found`. */
  async visible(principal: Principal, id: string): Promise<ApprovalRecord> {
    const approval = await this.store.getApproval(id);
    if (!approval || !inScope(principal, approval.businessUnit)) {
      throw new WardenError('not_found', `approval ${id} not found`);
    }
    return approval;
  }

  async answer(
    principal: Principal,
    id: string,
    decision: ApprovalDecision,
  ): Promise<ApprovalRecord> {
    const approval = await this.visible(principal, id);
    if (!approval.approvers.includes(principal.role)) {
      throw new WardenError(
        'forbidden',
        `approval ${id} needs one of: ${approval.approvers.join(', ')} (you are ${principal.role})`,
      );
    }
    const now = this.clock().toISOString();
    if (approval.status === 'pending' && approval.deadline <= now) {
      throw new WardenError('conflict', `approval ${id} expired at ${approval.deadline}`);
    }
    const answered: ApprovalRecord = {
      ...approval,
      status: decision.approve ? 'approved' : 'denied',
      answeredBy: principal.name,
      answeredRole: principal.role,
      answeredAt: now,
      comment: decision.comment ?? null,
    };
    const verb = decision.approve ? 'approved' : 'denied';
    await this.store.transaction(async (tx) => {
      await tx.updateApproval(answered);
      await tx.appendTimeline({
        id: uuidv7(),
        caseId: approval.caseId,
        at: now,
        actor: principal.name,
        kind: 'approval_answered',
        message: `${verb}: ${approval.message}${decision.comment ? ` — ${decision.comment}` : ''}`,
        data: {
          approvalId: id,
          runId: approval.runId,
          stepId: approval.stepId,
          approved: decision.approve,
        },
      });
      await tx.appendAudit({
        at: now,
        actor: principal.name,
        action: `approval.${verb}`,
        subject: id,
        data: {
          tokenId: principal.tokenId,
          role: principal.role,
          caseId: approval.caseId,
          runId: approval.runId,
          stepId: approval.stepId,
          comment: decision.comment ?? null,
        },
      });
      await tx.wakeRun(approval.runId, now);
    });
    return answered;
  }
}
