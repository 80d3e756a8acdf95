// One org's CRM data in the local Zoho: its records by module (in creation order), their
// attachments, and the users who have signed in to it. Kept across restarts by snapshot().
import type { LocalZohoUser } from '../model.ts';
import { recordId } from '../model.ts';
import type { Module } from './modules.ts';

export type CrmRecord = Record<string, unknown> & { id: string };

/** A file attached to a record: its bytes served back as uploaded, with the type it was uploaded with. */
export interface Attachment {
  id: string;
  module: string;
  recordId: string;
  fileName: string;
  contentType: string;
  bytes: Uint8Array<ArrayBuffer>;
  createdAt: number;
  by: LocalZohoUser;
  /** A link attachment's URL (uploaded with `attachmentUrl`). */
  link?: string;
}

export class OrgData {
  readonly records = new Map<string, CrmRecord[]>();
  /** Not kept across restarts. */
  readonly attachments = new Map<string, Attachment>();
  #sequence = 0;

  readonly orgId: string;
  constructor(orgId: string) {
    this.orgId = orgId;
  }

  of(module: Module): CrmRecord[] {
    let list = this.records.get(module.apiName);
    if (!list) this.records.set(module.apiName, (list = []));
    return list;
  }

  /** A new record or attachment id: never one given before in this org, restarts included. */
  newId(): string {
    return recordId(this.orgId, ++this.#sequence);
  }

  /** Takes back a module's records from a snapshot, and the ids they used. */
  restore(module: string, records: CrmRecord[]): void {
    this.records.set(module, records);
    for (const record of records) this.#sequence = Math.max(this.#sequence, Number(record.id.slice(-12)) || 0);
  }
}
