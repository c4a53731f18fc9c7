/** Per-account limits enforced by RunInstances (defaults from the environment). */
export interface Limits {
  maxInstances: number;
  maxVcpus: number;
}

export class Quotas {
  constructor(private readonly defaults: Limits = {
    maxInstances: Number(process.env.OARCLOUD_MAX_INSTANCES ?? 64),
    maxVcpus: Number(process.env.OARCLOUD_MAX_VCPUS ?? 256),
  }) {}

  async limitsFor(_accountId: string): Promise<Limits> {
    return this.defaults;
  }
}
