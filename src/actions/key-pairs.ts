/** CreateKeyPair, ImportKeyPair, DescribeKeyPairs and DeleteKeyPair. */
import { defineAction } from './action';
import { errors } from '../protocol/errors';
import { filterInMemory, type Filter } from '../domain/filters';
import { insertTags, loadTags, tagsFor, type TagSpecification } from '../domain/tags';
import type { KeyPairRow } from '../domain/key-pairs';

const view = (k: KeyPairRow, tags: { Key: string; Value: string }[] = []) => ({
  KeyPairId: k.id, KeyName: k.name, KeyFingerprint: k.fingerprint, KeyType: k.key_type, PublicKey: k.public_key, CreateTime: k.created_at, Tags: tags,
});

export const createKeyPair = defineAction<{ KeyName: string; KeyType?: 'rsa' | 'ed25519'; KeyFormat?: string; TagSpecifications?: TagSpecification[] }>(
  'CreateKeyPair',
  async (input, { caller, services }) => {
    if (input.KeyFormat && input.KeyFormat !== 'pem') throw errors.invalidParameterValue('KeyFormat', input.KeyFormat, 'Only pem is supported.');
    const tags = tagsFor(input.TagSpecifications, 'key-pair', ['key-pair']);
    const { row, privateKey } = await services.keyPairs.create(caller.accountId, input.KeyName, input.KeyType ?? 'rsa');
    await insertTags(services.db, caller.accountId, 'key-pair', [row.id], tags);
    return { KeyName: row.name, KeyFingerprint: row.fingerprint, KeyMaterial: privateKey, KeyPairId: row.id, Tags: tags.map((t) => ({ Key: t.key, Value: t.value })) };
  },
);

export const importKeyPair = defineAction<{ KeyName: string; PublicKeyMaterial: Buffer; TagSpecifications?: TagSpecification[] }>(
  'ImportKeyPair',
  async (input, { caller, services }) => {
    const tags = tagsFor(input.TagSpecifications, 'key-pair', ['key-pair']);
    const row = await services.keyPairs.import(caller.accountId, input.KeyName, input.PublicKeyMaterial.toString('utf8'));
    await insertTags(services.db, caller.accountId, 'key-pair', [row.id], tags);
    return { KeyName: row.name, KeyFingerprint: row.fingerprint, KeyPairId: row.id, Tags: tags.map((t) => ({ Key: t.key, Value: t.value })) };
  },
);

export const describeKeyPairs = defineAction<{ KeyNames?: string[]; KeyPairIds?: string[]; Filters?: Filter[]; IncludePublicKey?: boolean }>(
  'DescribeKeyPairs',
  async (input, { caller, services }) => {
    let keys = await services.keyPairs.list(caller.accountId);
    for (const name of input.KeyNames ?? []) if (!keys.some((k) => k.name === name)) throw errors.keyPairNotFound(name);
    for (const id of input.KeyPairIds ?? []) if (!keys.some((k) => k.id === id)) throw errors.keyPairNotFound(id);
    if (input.KeyNames?.length) keys = keys.filter((k) => input.KeyNames!.includes(k.name));
    if (input.KeyPairIds?.length) keys = keys.filter((k) => input.KeyPairIds!.includes(k.id));
    const tags = await loadTags(services.db, keys.map((k) => k.id));
    const tagMap = (k: KeyPairRow) => Object.fromEntries((tags.get(k.id) ?? []).map((t) => [t.Key, t.Value]));
    keys = filterInMemory(keys, input.Filters, {
      'key-name': (k) => k.name, 'key-pair-id': (k) => k.id, fingerprint: (k) => k.fingerprint, 'key-type': (k) => k.key_type,
      'tag-key': (k) => Object.keys(tagMap(k)),
    }, tagMap);
    return {
      KeyPairs: keys.map((k) => {
        const v = view(k, tags.get(k.id));
        return input.IncludePublicKey ? v : { ...v, PublicKey: undefined };
      }),
    };
  },
);

export const deleteKeyPair = defineAction<{ KeyName?: string; KeyPairId?: string }>('DeleteKeyPair', async (input, { caller, services }) => {
  if (!input.KeyName && !input.KeyPairId) throw errors.missingParameter('KeyName');
  await services.keyPairs.delete(caller.accountId, input.KeyName, input.KeyPairId);
  return { Return: true };
});
