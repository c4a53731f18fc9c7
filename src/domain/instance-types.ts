/**
 * The instance-type catalogue: each type maps to libvirt limits (vCPUs, memory) and to an OAR request. The types and
 * their figures are EC2's (catalogue/instance-types.json: every name the EC2 model accepts, with the vCPUs, memory
 * and generation EC2's DescribeInstanceTypes gives, see catalogue/generate.ts). Each OAR core is split into slots
 * (OARCLOUD_SLOTS_PER_CORE OAR resources sharing the core's cpuset, each carrying its share of the node's memory): a
 * burstable type (t*) asks for slots, one per vCPU at least and enough to cover its memory, spread over as many cores
 * as it has vCPUs; other types ask for whole cores (all their slots), pinned. OAR 2.5 has no consumable memory, so
 * memory is counted in slots. Replace the catalogue with a JSON file named by OARCLOUD_INSTANCE_TYPES
 * ({"name": {vcpus, memoryMib, burstable}}).
 */
import { readFileSync } from 'node:fs';
import catalogueFile from './catalogue/instance-types.json';
import type { NodeCapacity } from '../adapters/oar';

/** A catalogue line: [vCPUs, cores, threads per core, memory MiB, flags (b burstable, c current, f free tier), architectures]. */
export type CatalogueRow = [number, number, number, number, string, string];

export interface InstanceType {
  name: string;
  vcpus: number;
  cores: number;
  threadsPerCore: number;
  memoryMib: number;
  burstable: boolean;
  currentGeneration: boolean;
  freeTierEligible: boolean;
  /** EC2's names: i386, x86_64, arm64, x86_64_mac, arm64_mac. */
  architectures: string[];
}

export const DEFAULT_INSTANCE_TYPE = 't2.micro';

/** The architecture this machine's containers run (EC2's name for it). */
export const HOST_ARCHITECTURE = process.arch === 'arm64' ? 'arm64' : 'x86_64';

let catalogue: Map<string, InstanceType> | undefined;
/** Names EC2 accepts but for which no figures are known (retired types): refused by name. */
let unknownFigures: Set<string> | undefined;

function fromRow(name: string, [vcpus, cores, threadsPerCore, memoryMib, flags, architectures]: CatalogueRow): InstanceType {
  return {
    name,
    vcpus,
    cores,
    threadsPerCore,
    memoryMib,
    burstable: flags.includes('b'),
    currentGeneration: flags.includes('c'),
    freeTierEligible: flags.includes('f'),
    architectures: architectures.split(' '),
  };
}

function load(): Map<string, InstanceType> {
  const file = process.env.OARCLOUD_INSTANCE_TYPES;
  unknownFigures = new Set();
  if (file) {
    const source: Record<string, { vcpus: number; memoryMib: number; burstable?: boolean }> = JSON.parse(readFileSync(file, 'utf8'));
    return new Map(
      Object.entries(source).map(([name, t]) => [name, fromRow(name, [t.vcpus, t.vcpus, 1, t.memoryMib, `${t.burstable ? 'b' : ''}c`, HOST_ARCHITECTURE])]),
    );
  }
  const types = new Map<string, InstanceType>();
  for (const [name, row] of Object.entries(catalogueFile.types as unknown as Record<string, CatalogueRow | null>)) {
    if (row) types.set(name, fromRow(name, row));
    else unknownFigures.add(name);
  }
  return types;
}

export function instanceTypes(): Map<string, InstanceType> {
  catalogue ??= load();
  return catalogue;
}

export function findInstanceType(name: string): InstanceType | undefined {
  return instanceTypes().get(name);
}

/**
 * Why EC2's name for a type has no entry in the catalogue: the source dump lacks its figures (a few retired or
 * special types), so it cannot be sized. Undefined for names EC2 does not know either.
 */
export function whyUnsized(name: string): string | undefined {
  instanceTypes();
  return unknownFigures?.has(name) ? `EC2 knows ${name}, but this cloud's catalogue has no vCPU and memory figures for it.` : undefined;
}

/** What an instance of a type asks OAR for, and the cores it counts against an account's quota. */
export interface OarSizing {
  /** Cores the job spans (its cpuset: as many CPUs as the instance sees). */
  cores: number;
  /** Slots of each core; null for whole cores (a dedicated type). */
  slotsPerCore: number | null;
}

/** The OAR request for a type, given how many slots a core has and the memory each slot carries. */
export function oarSizingFor(type: Pick<InstanceType, 'vcpus' | 'memoryMib' | 'burstable'>, slotsPerCore: number, memoryPerSlotMib: number): OarSizing {
  const slotsForMemory = Math.ceil(type.memoryMib / Math.max(1, memoryPerSlotMib));
  if (!type.burstable) return { cores: Math.max(type.vcpus, Math.ceil(slotsForMemory / Math.max(1, slotsPerCore))), slotsPerCore: null };
  return { cores: type.vcpus, slotsPerCore: Math.max(1, Math.ceil(slotsForMemory / type.vcpus)) };
}

/** A type's request on this cluster, and the smallest memory per slot among the nodes where that request fits. */
export type Sizing = OarSizing & { minMemoryMib: number };

/**
 * How a type is sized on this cluster: on each node by that node's slots and memory per slot; the smallest request
 * that fits a node wins, and the job is kept to nodes whose slots carry at least the memory it was sized with.
 * Undefined when no node can ever hold it.
 */
export function sizingAmong(nodes: Iterable<NodeCapacity>, type: Pick<InstanceType, 'vcpus' | 'memoryMib' | 'burstable'>): Sizing | undefined {
  const fitting = [...nodes]
    .map((node) => ({ node, sizing: oarSizingFor(type, node.slotsPerCore, node.memoryPerSlotMib) }))
    .filter(({ node, sizing }) => node.cores >= sizing.cores && (sizing.slotsPerCore === null || node.slotsPerCore >= sizing.slotsPerCore))
    .sort((a, b) => a.sizing.cores - b.sizing.cores || (a.sizing.slotsPerCore ?? Infinity) - (b.sizing.slotsPerCore ?? Infinity));
  if (!fitting.length) return undefined;
  const best = fitting[0];
  const minMemoryMib = Math.min(
    ...fitting.filter((f) => f.sizing.cores === best.sizing.cores && f.sizing.slotsPerCore === best.sizing.slotsPerCore).map((f) => f.node.memoryPerSlotMib),
  );
  return { ...best.sizing, minMemoryMib };
}
