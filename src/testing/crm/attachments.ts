// A record's attachments (attachments.json of Zoho's OpenAPI description): list (`fields`
// required), upload (a multipart `file`, or an `attachmentUrl` link), download, delete one or
// several (`ids`).
import { json } from '../model.ts';
import { crmError, missingParam, MESSAGES, userRef, zohoTime } from './answers.ts';
import type { Attachment } from './org-data.ts';
import { integerParam, MAX_PER_PAGE, MAX_RECORDS, type RecordContext } from './records.ts';

/** Zoho's limit on one attached file: 20 MB. */
export const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;

/** A path part that names nothing there: INVALID_DATA (or INVALID_MODULE) with its index. */
export const relatedInvalid = (code: 'INVALID_DATA' | 'INVALID_MODULE', index: number) =>
  crmError(400, code, code === 'INVALID_MODULE' ? MESSAGES.invalidModule : 'the related id given seems to be invalid', {
    related_status: 'invalid',
    resource_path_index: index,
  });

function describe(file: Attachment, recordName: string) {
  const by = userRef(file.by);
  const time = zohoTime(file.createdAt);
  return {
    Owner: by,
    Modified_By: by,
    Created_By: by,
    Parent_Id: { id: file.recordId, name: recordName },
    $sharing_permission: 'public',
    $attachment_type: file.link ? 3 : 1,
    id: file.id,
    Modified_Time: time,
    Created_Time: time,
    File_Name: file.fileName,
    Size: String(file.bytes.byteLength),
    $editable: true,
    $file_id: `${file.id}f`,
    $type: file.link ? 'Link URL' : 'Attachment',
    $se_module: file.module,
    $state: 'save',
    $link_url: file.link ?? null,
  };
}

export async function answerAttachments(
  request: Request,
  url: URL,
  recordId: string,
  attachmentId: string | undefined,
  recordName: string,
  ctx: RecordContext,
): Promise<Response | null> {
  const { org } = ctx;
  const method = request.method;
  const mine = (id: string) => {
    const file = org.attachments.get(id);
    return file && file.recordId === recordId ? file : undefined;
  };
  if (attachmentId !== undefined) {
    if (method === 'GET') {
      const file = mine(attachmentId);
      return file
        ? new Response(file.bytes.slice(), {
            headers: { 'content-type': file.contentType, 'content-disposition': `attachment; filename="${encodeURIComponent(file.fileName)}"` },
          })
        : new Response(null, { status: 204 });
    }
    if (method === 'DELETE') return deleteAttachments([attachmentId], mine, ctx);
    return null;
  }
  if (method === 'GET') {
    if (!url.searchParams.get('fields')) return missingParam('fields');
    const perPage = integerParam(url, 'per_page', MAX_PER_PAGE, 1, MAX_PER_PAGE);
    if (perPage instanceof Response) return perPage;
    const page = integerParam(url, 'page', 1, 1, 10);
    if (page instanceof Response) return page;
    const all = [...org.attachments.values()].filter((f) => f.recordId === recordId);
    const slice = all.slice((page - 1) * perPage, page * perPage);
    if (slice.length === 0) return new Response(null, { status: 204 });
    return json({
      data: slice.map((f) => describe(f, recordName)),
      info: { per_page: perPage, page, count: slice.length, more_records: page * perPage < all.length },
    });
  }
  if (method === 'POST') return uploadAttachment(request, url, recordId, ctx);
  if (method === 'DELETE') {
    const ids = url.searchParams.get('ids');
    if (!ids) return missingParam('ids');
    return deleteAttachments(ids.split(','), mine, ctx);
  }
  return null;
}

function deleteAttachments(ids: string[], mine: (id: string) => Attachment | undefined, ctx: RecordContext): Response {
  if (ids.length > MAX_RECORDS) return crmError(400, 'LIMIT_EXCEEDED', MESSAGES.recordLimit, { limit: MAX_RECORDS, param_name: 'ids' });
  const results = ids.map((id) => {
    if (!mine(id)) return { code: 'INVALID_DATA', details: { id }, message: MESSAGES.invalidId, status: 'error' };
    ctx.org.attachments.delete(id);
    return { code: 'SUCCESS', details: { id }, message: 'Attachment deleted', status: 'success' };
  });
  const ok = results.filter((r) => r.status === 'success').length;
  return json({ data: results }, ok === results.length ? 200 : ok === 0 ? 400 : 207);
}

/** POST {module}/{id}/Attachments: a multipart form with `file`, or `attachmentUrl` (a link; this stand-in never fetches it). */
async function uploadAttachment(request: Request, url: URL, recordId: string, ctx: RecordContext): Promise<Response> {
  const link = url.searchParams.get('attachmentUrl');
  let attachment: Omit<Attachment, 'id' | 'module' | 'recordId' | 'createdAt' | 'by'>;
  if (link !== null) {
    if (!/^https?:\/\/\S+$/.test(link)) return crmError(400, 'INVALID_DATA', MESSAGES.invalidData, { param_name: 'attachmentUrl' });
    attachment = { fileName: url.searchParams.get('title') ?? link, contentType: 'text/uri-list', bytes: new Uint8Array(new TextEncoder().encode(link)), link };
  } else {
    const form = await request.formData().catch(() => null);
    const file = form?.get('file');
    if (!file || typeof file === 'string') return missingParam('file');
    // Zoho's docs give the limit, not the error's code: this code is the stand-in's.
    if (file.size > MAX_ATTACHMENT_BYTES)
      return crmError(400, 'FILE_SIZE_MORE_THAN_ALLOWED_SIZE', 'file size exceeds the allowed size', { maximum_size: '20 MB' });
    attachment = { fileName: file.name, contentType: file.type || 'application/octet-stream', bytes: new Uint8Array(await file.arrayBuffer()) };
  }
  const id = ctx.org.newId();
  ctx.org.attachments.set(id, { ...attachment, id, module: ctx.module.apiName, recordId, createdAt: ctx.now, by: ctx.user });
  const time = zohoTime(ctx.now);
  const by = userRef(ctx.user);
  return json({
    data: [
      {
        code: 'SUCCESS',
        details: { id, Modified_Time: time, Created_Time: time, Modified_By: by, Created_By: by },
        message: 'attachment uploaded successfully',
        status: 'success',
      },
    ],
  });
}
