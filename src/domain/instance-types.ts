/**
 * The instance-type catalogue: each type maps to libvirt limits (vCPUs, memory) and to an OAR request
 * (`/core=N`). OAR 2.5 has no consumable memory, so a type asks for max(vCPUs, ceil(memory / memory per core))
 * cores. Override the catalogue with a JSON file named by OARCLOUD_INSTANCE_TYPES ({"name": {vcpus, memoryMib}}).
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

/** OAR cores one instance of this type holds, given the memory OAR attaches to each core. */
export function oarCoresFor(type: InstanceType, memoryPerCoreMib: number): number {
  return Math.max(type.vcpus, Math.ceil(type.memoryMib / Math.max(1, memoryPerCoreMib)));
}
