/** CreateKeyPair, ImportKeyPair, DescribeKeyPairs and DeleteKeyPair. */
import { defineAction } from './action';
import { errors } from '../domain/errors';
import { filterInMemory, selectNamed } from '../domain/filters';
import { tagsFor } from '../domain/tags';
import type { KeyPairRow } from '../domain/key-pairs';
import type { KeyPairInfo, Tag } from '../protocol/model/ec2-shapes';
import { tagSet } from './views/tags';

const view = (k: KeyPairRow, tags: Tag[] = []): KeyPairInfo => ({
  KeyPairId: k.id,
  KeyName: k.name,
  KeyFingerprint: k.fingerprint,
  KeyType: k.key_type,
  PublicKey: k.public_key,
  CreateTime: k.created_at,
  Tags: tagSet(tags),
});

export const createKeyPair = defineAction('CreateKeyPair', async (input, { caller, services }) => {
  const format = input.KeyFormat ?? 'pem';
  if (format !== 'pem' && format !== 'ppk') throw errors.invalidParameterValue('KeyFormat', format, 'It must be pem or ppk.');
  const tags = tagsFor(input.TagSpecifications, 'key-pair', ['key-pair']);
  const keyType = input.KeyType ?? 'rsa';
  if (keyType !== 'rsa' && keyType !== 'ed25519') throw errors.invalidParameterValue('KeyType', keyType, 'It must be rsa or ed25519.');
  const { row, privateKey } = await services.keyPairs.create(caller.accountId, input.KeyName, keyType, format);
  await services.tags.insert(caller.accountId, 'key-pair', [row.id], tags);
  return {
    KeyName: row.name,
    KeyFingerprint: row.fingerprint,
    KeyMaterial: privateKey,
    KeyPairId: row.id,
    Tags: tagSet(tags.map((t) => ({ Key: t.key, Value: t.value }))),
  };
});

export const importKeyPair = defineAction('ImportKeyPair', async (input, { caller, services }) => {
  const tags = tagsFor(input.TagSpecifications, 'key-pair', ['key-pair']);
  const row = await services.keyPairs.import(caller.accountId, input.KeyName, input.PublicKeyMaterial.toString('utf8'));
  await services.tags.insert(caller.accountId, 'key-pair', [row.id], tags);
  return { KeyName: row.name, KeyFingerprint: row.fingerprint, KeyPairId: row.id, Tags: tagSet(tags.map((t) => ({ Key: t.key, Value: t.value }))) };
});

export const describeKeyPairs = defineAction('DescribeKeyPairs', async (input, { caller, services }) => {
  let keys = selectNamed(
    await services.keyPairs.list(caller.accountId),
    input.KeyNames,
    (k) => k.name,
    ([name]) => errors.keyPairNotFound(name),
  );
  keys = selectNamed(
    keys,
    input.KeyPairIds,
    (k) => k.id,
    ([id]) => errors.keyPairNotFound(id),
  );
  const tags = await services.tags.load(keys.map((k) => k.id));
  const tagMap = (k: KeyPairRow) => Object.fromEntries((tags.get(k.id) ?? []).map((t) => [t.Key, t.Value]));
  keys = filterInMemory(
    keys,
    input.Filters,
    {
      'key-name': (k) => k.name,
      'key-pair-id': (k) => k.id,
      fingerprint: (k) => k.fingerprint,
      'key-type': (k) => k.key_type,
      'tag-key': (k) => Object.keys(tagMap(k)),
    },
    tagMap,
  );
  return {
    KeyPairs: keys.map((k) => {
      const v = view(k, tags.get(k.id));
      return input.IncludePublicKey ? v : { ...v, PublicKey: undefined };
    }),
  };
});

export const deleteKeyPair = defineAction('DeleteKeyPair', async (input, { caller, services }) => {
  if (!input.KeyName && !input.KeyPairId) throw errors.missingParameter('KeyName');
  await services.keyPairs.delete(caller.accountId, input.KeyName, input.KeyPairId);
  return { Return: true };
});
