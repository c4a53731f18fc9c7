/** POSTs a notification to an HTTP(S) endpoint; anything but a 2xx answer within the timeout is a failure. */
export async function postNotification(url: string, headers: Record<string, string>, body: string, timeoutMs = 15_000): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer().catch(() => undefined);
  if (response.status < 200 || response.status > 299) throw new Error(`${url} answered HTTP ${response.status}`);
}
