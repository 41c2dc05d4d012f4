import { useState } from 'react';
import type { WebhookDeliveryJson, WebhookJson } from '../../../index.js';
import { api, DELIVERIES_PAGE } from '../app/api.js';
import { useResource } from '../app/use-resource.js';
import { FormError, useFormAction } from '../common/forms.js';
import { ConfirmButton } from '../common/ConfirmButton.js';
import { focusById } from '../common/focus.js';
import { notify } from '../common/notices.js';
import { ShownOnce } from './ShownOnce.js';
import { DataTable } from '../common/DataTable.js';
import { SettingsSection } from './SettingsSection.js';

/** Addresses the org's board events are POSTed to, signed with a secret shown once; each with its latest deliveries. */
export function WebhooksSection({ slug }: { slug: string }) {
  const hooks = useResource(`webhooks:${slug}`, () => api.webhooks(slug));
  const [secret, setSecret] = useState<string | null>(null);
  return (
    <SettingsSection id="webhooks-title" title="Webhooks">
      <p className="hint">
        Every change on the organization&apos;s boards is sent to these addresses as it happens, signed with the webhook&apos;s secret (
        <code>x-taskflow-signature</code>); a failed delivery is tried again, over about an hour with the server&apos;s default settings.
      </p>
      {hooks.error ? (
        <p className="form-error">Could not load the webhooks: {hooks.error.message}</p>
      ) : (
        (hooks.data?.length ?? 0) > 0 && (
          <ul className="webhooks" aria-label="Webhooks">
            {hooks.data!.map((hook) => (
              <WebhookItem key={hook.id} hook={hook} slug={slug} onDeleted={hooks.reload} />
            ))}
          </ul>
        )
      )}
      {secret ? (
        <ShownOnce label="Signing secret" value={secret} onDone={() => setSecret(null)} returnFocusTo="webhooks-title" />
      ) : (
        <NewWebhookForm
          slug={slug}
          onMade={(made) => {
            setSecret(made);
            hooks.reload();
          }}
        />
      )}
    </SettingsSection>
  );
}

function WebhookItem({ hook, slug, onDeleted }: { hook: WebhookJson; slug: string; onDeleted: () => void }) {
  const [open, setOpen] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const rotate = async () => {
    try {
      setSecret((await api.rotateWebhookSecret(slug, hook.id)).secret);
    } catch (failure) {
      notify(`Could not make a new secret: ${(failure as Error).message}`);
    }
  };
  const remove = async () => {
    try {
      await api.deleteWebhook(slug, hook.id);
      notify(`The webhook to ${hook.url} was deleted.`, 'info');
      onDeleted();
      focusById('webhooks-title'); // its buttons are gone
    } catch (failure) {
      notify(`Could not delete the webhook: ${(failure as Error).message}`);
    }
  };
  return (
    <li className="webhook">
      <div className="row">
        <code className="webhook-url">{hook.url}</code>
        <span className="hint">{hook.events ? hook.events.join(', ') : 'all events'}</span>
        <button
          type="button"
          id={`deliveries-button-${hook.id}`}
          aria-expanded={open}
          aria-label={`Deliveries to ${hook.url}`}
          onClick={() => setOpen(!open)}
        >
          Deliveries
        </button>
        <ConfirmButton
          label="New secret"
          ariaLabel={`New secret for ${hook.url}`}
          confirmLabel="Really replace the secret"
          onConfirm={rotate}
          danger={false}
        />
        <ConfirmButton
          label="Delete"
          ariaLabel={`Delete the webhook to ${hook.url}`}
          confirmLabel={`Really delete the webhook to ${hook.url}`}
          onConfirm={remove}
        />
      </div>
      {secret && (
        <ShownOnce
          label="New signing secret"
          value={secret}
          onDone={() => setSecret(null)}
          returnFocusTo={`deliveries-button-${hook.id}`}
        />
      )}
      {open && <Deliveries slug={slug} hook={hook} />}
    </li>
  );
}

/** The webhook's latest deliveries, newest first, and older ones a page at a time; a failed one can be sent again. */
function Deliveries({ slug, hook }: { slug: string; hook: WebhookJson }) {
  const deliveries = useResource(`deliveries:${hook.id}`, () => api.deliveries(slug, hook.id));
  const latest = deliveries.data;
  // Older pages go with the reading of the latest page they follow on from (`after`): a Refresh
  // drops them, and a page asked for before it is not added after it.
  const [older, setOlder] = useState<{ after: WebhookDeliveryJson[]; pages: WebhookDeliveryJson[][] } | null>(null);
  const [askingOlder, setAskingOlder] = useState(false);
  // Deliveries sent again from here, as the server answered, shown in their place until a Refresh.
  const [retried, setRetried] = useState<ReadonlyMap<string, WebhookDeliveryJson>>(new Map());
  const olderPages = older && older.after === latest ? older.pages : [];
  const shown = [...(latest ?? []), ...olderPages.flat()].map((delivery) => retried.get(delivery.id) ?? delivery);
  const lastPage = olderPages.at(-1) ?? latest ?? [];
  const reload = () => {
    setOlder(null);
    setRetried(new Map());
    deliveries.reload();
  };
  const retry = async (delivery: WebhookDeliveryJson) => {
    try {
      const again = await api.retryDelivery(slug, hook.id, delivery.id);
      setRetried((map) => new Map(map).set(again.id, again));
      focusById(`refresh-deliveries-${hook.id}`); // its button is gone
    } catch (failure) {
      notify(`Could not send the delivery again: ${(failure as Error).message}`);
    }
  };
  const showOlder = async () => {
    if (!latest) return;
    setAskingOlder(true);
    try {
      const page = await api.deliveries(slug, hook.id, shown.at(-1)!.id);
      setOlder((current) => ({ after: latest, pages: [...(current?.after === latest ? current.pages : []), page] }));
      if (page.length < DELIVERIES_PAGE) focusById(`refresh-deliveries-${hook.id}`); // "Show older" goes with the last page
    } catch (failure) {
      notify(`Could not load older deliveries: ${(failure as Error).message}`);
    } finally {
      setAskingOlder(false);
    }
  };
  if (deliveries.error) return <p className="form-error">Could not load the deliveries: {deliveries.error.message}</p>;
  if (!deliveries.data) return <p className="hint">Loading…</p>;
  return (
    <div className="stack">
      <div className="row">
        <button
          type="button"
          id={`refresh-deliveries-${hook.id}`}
          className="link-button"
          aria-label={`Refresh the deliveries to ${hook.url}`}
          onClick={reload}
        >
          Refresh
        </button>
      </div>
      {deliveries.data.length === 0 ? (
        <p className="hint">Nothing sent yet: the next change on a board will be.</p>
      ) : (
        <DataTable label={`Deliveries to ${hook.url}`} columns={['Event', 'Status', 'Tries', 'Last answer']} actions>
          {shown.map((delivery) => (
            <tr key={delivery.id}>
              <td>
                {delivery.eventType} <span className="hint">{new Date(delivery.createdAt).toLocaleString()}</span>
              </td>
              <td>
                {delivery.status === 'pending' && delivery.nextAttemptAt && delivery.attempts > 0
                  ? 'pending, to be tried again'
                  : delivery.status}
              </td>
              <td>{delivery.attempts}</td>
              <td>{delivery.lastStatus !== null ? `HTTP ${delivery.lastStatus}` : (delivery.lastError ?? '—')}</td>
              <td>
                {delivery.status === 'failed' && (
                  <button
                    type="button"
                    aria-label={`Send again the ${delivery.eventType} of ${new Date(delivery.createdAt).toLocaleString()}`}
                    onClick={() => void retry(delivery)}
                  >
                    Send again
                  </button>
                )}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      {lastPage.length === DELIVERIES_PAGE && (
        <div className="row">
          <button
            type="button"
            className="link-button"
            aria-label={`Show older deliveries to ${hook.url}`}
            disabled={askingOlder || deliveries.loading}
            onClick={() => void showOlder()}
          >
            Show older
          </button>
        </div>
      )}
    </div>
  );
}

function NewWebhookForm({ slug, onMade }: { slug: string; onMade: (secret: string) => void }) {
  const [url, setUrl] = useState('');
  const form = useFormAction();
  const create = async () => {
    const { secret } = await api.createWebhook(slug, { url: url.trim() });
    setUrl('');
    onMade(secret);
  };
  return (
    <form className="inline-form" onSubmit={form.submit(create)} aria-label="New webhook">
      <input
        type="url"
        aria-label="Webhook URL"
        placeholder="https://example.com/taskflow-hook"
        value={url}
        onChange={(e) => setUrl(e.target.value)}
        required
        maxLength={2000}
      />
      <button type="submit" className="primary" disabled={form.busy}>
        Add webhook
      </button>
      <FormError error={form.error} />
    </form>
  );
}
