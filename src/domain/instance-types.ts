/**
 * The instance-type catalogue: each type maps to libvirt limits (vCPUs, memory) and to an OAR request. Each OAR
 * core is split into slots (OARCLOUD_SLOTS_PER_CORE OAR resources sharing the core's cpuset, each carrying its share
 * of the node's memory): a burstable type (t*) asks for slots, one per vCPU at least and enough to cover its memory,
 * spread over as many cores as it has vCPUs; other types ask for whole cores (all their slots), pinned. OAR 2.5 has
 * no consumable memory, so memory is counted in slots. Override the catalogue with a JSON file named by
 * OARCLOUD_INSTANCE_TYPES ({"name": {vcpus, memoryMib, burstable}}).
 */
import { readFileSync } from 'node:fs';

export interface InstanceType {
  name: string;
  vcpus: number;
  memoryMib: number;
  burstable: boolean;
}

const DEFAULT_TYPES: Record<string, { vcpus: number; memoryMib: number; burstable?: boolean }> = {
  't2.nano': { vcpus: 1, memoryMib: 512, burstable: true },
  't2.micro': { vcpus: 1, memoryMib: 1024, burstable: true },
  't2.small': { vcpus: 1, memoryMib: 2048, burstable: true },
  't2.medium': { vcpus: 2, memoryMib: 4096, burstable: true },
  't3.nano': { vcpus: 1, memoryMib: 512, burstable: true },
  't3.micro': { vcpus: 1, memoryMib: 1024, burstable: true },
  't3.small': { vcpus: 1, memoryMib: 2048, burstable: true },
  't3.medium': { vcpus: 2, memoryMib: 4096, burstable: true },
  'm5.large': { vcpus: 2, memoryMib: 8192 },
  'c5.large': { vcpus: 2, memoryMib: 4096 },
};
export const DEFAULT_INSTANCE_TYPE = 't2.micro';

let catalogue: Map<string, InstanceType> | undefined;

export function instanceTypes(): Map<string, InstanceType> {
  if (!catalogue) {
    const file = process.env.OARCLOUD_INSTANCE_TYPES;
    const source = file ? JSON.parse(readFileSync(file, 'utf8')) : DEFAULT_TYPES;
    catalogue = new Map(
      Object.entries<{ vcpus: number; memoryMib: number; burstable?: boolean }>(source).map(([name, t]) => [
        name,
        { name, vcpus: t.vcpus, memoryMib: t.memoryMib, burstable: t.burstable ?? false },
      ]),
    );
  }
  return catalogue;
}

export function findInstanceType(name: string): InstanceType | undefined {
  return instanceTypes().get(name);
}

/** What an instance of a type asks OAR for, and the cores it counts against an account's quota. */
export interface OarSizing {
  /** Cores the job spans (its cpuset: as many CPUs as the instance sees). */
  cores: number;
  /** Slots of each core; null for whole cores (a dedicated type). */
  slotsPerCore: number | null;
}

/** The OAR request for a type, given how many slots a core has and the memory each slot carries. */
export function oarSizingFor(type: InstanceType, slotsPerCore: number, memoryPerSlotMib: number): OarSizing {
  const slotsForMemory = Math.ceil(type.memoryMib / Math.max(1, memoryPerSlotMib));
  if (!type.burstable) return { cores: Math.max(type.vcpus, Math.ceil(slotsForMemory / Math.max(1, slotsPerCore))), slotsPerCore: null };
  return { cores: type.vcpus, slotsPerCore: Math.max(1, Math.ceil(slotsForMemory / type.vcpus)) };
}
