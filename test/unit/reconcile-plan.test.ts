/** The reconciler's decision table (src/domain/reconcile-plan.ts), one case per row: pure, no service needed. */
import { expect } from 'chai';
import { plan, needsWork, type Step } from '../../src/domain/reconcile-plan';
import { canMove, type InstanceRow, type InstanceStateName } from '../../src/domain/instances';
import type { OarJob } from '../../src/adapters/oar';

function instance(changes: Partial<InstanceRow> = {}): InstanceRow {
  return {
    id: 'i-0123456789abcdef0',
    account_id: '111122223333',
    reservation_id: 'r-0123456789abcdef0',
    ami_launch_index: 0,
    image_id: 'ami-0123456789abcdef0',
    layers: ['base-busybox'],
    instance_type: 't2.nano',
    vcpus: 1,
    memory_mib: 512,
    oar_cores: 1,
    oar_slots: 1,
    oar_min_memory_mib: 512,
    key_name: null,
    public_key: null,
    user_data: null,
    state: 'pending',
    desired_state: 'running',
    state_reason_code: 'pending',
    state_reason_message: 'pending: accepted, submitting to OAR',
    transition_reason: '',
    private_ip: '10.77.0.10',
    subnet_id: null,
    mac: '02:00:0a:4d:00:0a',
    availability_zone: 'us-east-1a',
    launch_time: new Date(0),
    disable_api_termination: false,
    disable_api_stop: false,
    shutdown_behavior: 'stop',
    oar_job_id: null,
    oar_node: null,
    disk_node: null,
    reboot_requested: false,
    skip_os_shutdown: false,
    resize_type: null,
    resize_by: null,
    resize_error: null,
    resized_at: null,
    client_token: null,
    created_at: new Date(0),
    terminated_at: null,
    ...changes,
  };
}

function job(changes: Partial<OarJob> = {}): OarJob {
  return {
    id: 42,
    name: 'i-0123456789abcdef0',
    state: 'Running',
    node: 'node-1',
    cpuset: '0',
    message: '',
    events: [],
    predictedStart: null,
    ...changes,
  } as OarJob;
}

const kinds = (steps: Step[]) => steps.map((s) => s.do);

describe('reconcile plan: what the reconciler does next, from the instance, its OAR job and its container', () => {
  describe('desired running', () => {
    it('launch: no job yet → submit (which adopts a job a crash left, by its name)', () => {
      expect(kinds(plan(instance(), undefined, undefined))).to.deep.equal(['submit']);
    });

    it('queue: the job waits → note pending with the job id and predicted start, once', () => {
      const waiting = job({ state: 'Waiting', predictedStart: 1_800_000_000 });
      const steps = plan(instance({ oar_job_id: 42 }), waiting, undefined);
      expect(kinds(steps)).to.deep.equal(['note-pending']);
      const note = steps[0] as Extract<Step, { do: 'note-pending' }>;
      expect(note.reason.code).to.equal('pending');
      expect(note.reason.message).to.equal('pending: waiting in the OAR queue (job 42, predicted start 2027-01-15T08:00:00.000Z)');
      // the same note is not written twice
      expect(plan(instance({ oar_job_id: 42, state_reason_message: note.reason.message }), waiting, undefined)).to.deep.equal([]);
    });

    it('a job OAR is launching → pending with its state', () => {
      const steps = plan(instance({ oar_job_id: 42 }), job({ state: 'Launching' }), undefined);
      expect((steps[0] as Extract<Step, { do: 'note-pending' }>).reason.message).to.equal('pending: OAR job is Launching (job 42)');
    });

    it('the job runs, no container yet → start the container on the job (nothing to replace)', () => {
      const running = job();
      expect(plan(instance({ oar_job_id: 42 }), running, undefined)).to.deep.equal([{ do: 'start-container', job: running, replace: false }]);
    });

    it('a container left defined by a failed start is replaced', () => {
      const running = job();
      expect(plan(instance({ oar_job_id: 42 }), running, 'shut off')).to.deep.equal([{ do: 'start-container', job: running, replace: true }]);
    });

    it('adopt after a crash: job and container both up while the row says pending → mark running on the job node', () => {
      expect(plan(instance({ oar_job_id: 42 }), job(), 'running')).to.deep.equal([{ do: 'mark-running', node: 'node-1' }]);
    });

    it('running and up: nothing to do; a reboot asked for → reboot', () => {
      expect(plan(instance({ oar_job_id: 42, state: 'running' }), job(), 'running')).to.deep.equal([]);
      expect(kinds(plan(instance({ oar_job_id: 42, state: 'running', reboot_requested: true }), job(), 'running'))).to.deep.equal(['reboot']);
    });

    it('running and up with a live resize asked for → resize on its job; not while it is still pending', () => {
      expect(plan(instance({ oar_job_id: 42, state: 'running', resize_type: 't2.small' }), job(), 'running')).to.deep.equal([{ do: 'resize', job: job() }]);
      expect(kinds(plan(instance({ oar_job_id: 42, state: 'pending', resize_type: 't2.small' }), job(), 'running'))).to.deep.equal(['mark-running']);
      expect(needsWork(instance({ oar_job_id: 42, state: 'running', resize_type: 't2.small' }), job(), 'running')).to.equal(true);
    });

    it('a container frozen for an image capture counts as up', () => {
      expect(plan(instance({ oar_job_id: 42, state: 'running' }), job(), 'paused')).to.deep.equal([]);
    });

    it("admin oardel: the job ended by OAR's hand → terminate, Server.ScheduledStop", () => {
      const steps = plan(instance({ oar_job_id: 42, state: 'running' }), job({ state: 'Error', events: ['FRAG_JOB_REQUEST'] }), 'running');
      expect(steps).to.deep.equal([
        {
          do: 'end',
          desired: 'terminated',
          reason: { code: 'Server.ScheduledStop', message: 'Server.ScheduledStop: OAR job 42 was deleted in OAR' },
          transition: 'Service initiated (OAR job 42 was deleted in OAR)',
        },
      ]);
    });

    it('walltime end → terminate, Server.ScheduledStop saying so', () => {
      const [end] = plan(instance({ oar_job_id: 42, state: 'running' }), job({ state: 'Terminated', events: ['WALLTIME'] }), undefined);
      expect(end).to.include({ do: 'end', desired: 'terminated' });
      expect((end as Extract<Step, { do: 'end' }>).reason.message).to.equal('Server.ScheduledStop: OAR job 42 reached its walltime');
    });

    it('the job vanished from OAR → terminate', () => {
      const [end] = plan(instance({ oar_job_id: 42, state: 'running' }), undefined, 'running');
      expect((end as Extract<Step, { do: 'end' }>).reason.message).to.equal('Server.ScheduledStop: the OAR job disappeared');
    });

    it('dead container: it stopped on its own → stop or terminate, as InstanceInitiatedShutdownBehavior says', () => {
      for (const [behaviour, desired] of [
        ['stop', 'stopped'],
        ['terminate', 'terminated'],
      ] as const) {
        const steps = plan(instance({ oar_job_id: 42, state: 'running', shutdown_behavior: behaviour }), job(), 'shut off');
        expect(steps).to.deep.equal([
          {
            do: 'end',
            desired,
            reason: { code: 'Client.InstanceInitiatedShutdown', message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown' },
            transition: 'Instance initiated shutdown',
          },
        ]);
      }
    });

    it('start: a stopped instance asked to run has no job id → submit', () => {
      expect(kinds(plan(instance({ state: 'pending', desired_state: 'running', oar_job_id: null }), undefined, undefined))).to.deep.equal(['submit']);
    });
  });

  describe('desired stopped', () => {
    it('stop: show stopping, stop and remove the container, delete the job, then wait for OAR', () => {
      expect(plan(instance({ oar_job_id: 42, state: 'running', desired_state: 'stopped' }), job(), 'running')).to.deep.equal([
        { do: 'show', state: 'stopping' },
        { do: 'shutdown-container' },
        { do: 'remove-container' },
        { do: 'delete-job', jobId: 42 },
      ]);
    });

    it('once OAR has ended the job: unmount and show stopped', () => {
      expect(kinds(plan(instance({ oar_job_id: 42, state: 'stopping', desired_state: 'stopped' }), job({ state: 'Terminated' }), undefined))).to.deep.equal([
        'unmount',
        'stopped',
      ]);
    });

    it('a container that is defined but not running is removed without a shutdown', () => {
      expect(kinds(plan(instance({ oar_job_id: 42, state: 'stopping', desired_state: 'stopped' }), undefined, 'shut off'))).to.deep.equal([
        'remove-container',
        'unmount',
        'stopped',
      ]);
    });
  });

  describe('desired terminated', () => {
    it('terminate during a launch (job still waiting): show shutting-down, delete the job, wait', () => {
      expect(plan(instance({ oar_job_id: 42, state: 'pending', desired_state: 'terminated' }), job({ state: 'Waiting' }), undefined)).to.deep.equal([
        { do: 'show', state: 'shutting-down' },
        { do: 'delete-job', jobId: 42 },
      ]);
    });

    it('terminate before any job: release the disk and address at once', () => {
      expect(kinds(plan(instance({ desired_state: 'terminated' }), undefined, undefined))).to.deep.equal(['show', 'release', 'terminated']);
    });

    it('terminate a running instance: remove the container, delete the job; then release and finish', () => {
      expect(kinds(plan(instance({ oar_job_id: 42, state: 'running', desired_state: 'terminated' }), job(), 'running'))).to.deep.equal([
        'show',
        'remove-container',
        'delete-job',
      ]);
      expect(kinds(plan(instance({ oar_job_id: 42, state: 'shutting-down', desired_state: 'terminated' }), job({ state: 'Error' }), undefined))).to.deep.equal([
        'release',
        'terminated',
      ]);
    });

    it('a terminated instance needs nothing', () => {
      expect(plan(instance({ state: 'terminated', desired_state: 'terminated' }), undefined, undefined)).to.deep.equal([]);
    });
  });

  it('libvirt down: wait, whatever was asked (a container is never assumed gone)', () => {
    for (const desired_state of ['running', 'stopped', 'terminated'] as const) {
      expect(kinds(plan(instance({ oar_job_id: 42, state: 'running', desired_state }), job(), 'unreachable'))).to.deep.equal(['wait']);
    }
  });

  it("the pass's cheap test: settled instances need no look, changed ones do", () => {
    expect(needsWork(instance({ state: 'running', oar_job_id: 42 }), job(), 'running')).to.equal(false);
    expect(needsWork(instance({ state: 'running', oar_job_id: 42 }), job(), 'shut off')).to.equal(true);
    expect(needsWork(instance({ state: 'running', oar_job_id: 42 }), job({ state: 'Terminated' }), 'running')).to.equal(true);
    expect(needsWork(instance({ state: 'stopped', desired_state: 'stopped' }), undefined, undefined)).to.equal(false);
    expect(needsWork(instance({ state: 'pending' }), undefined, undefined)).to.equal(true);
  });

  it('every plan, from every state, job and container, moves the state forward only (issue 20)', () => {
    const shownBy = (step: Step, state: InstanceStateName): InstanceStateName | undefined =>
      (({ 'note-pending': 'pending', 'mark-running': 'running', 'start-container': 'running', stopped: 'stopped', terminated: 'terminated' })[
        step.do as string
      ] as InstanceStateName | undefined) ?? (step.do === 'show' ? step.state : state);
    const states: InstanceStateName[] = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'];
    const jobs = [undefined, job({ state: 'Waiting' }), job(), job({ state: 'Terminated' })];
    const domains = [undefined, 'running', 'shut off', 'paused'] as const;
    let checked = 0;
    // the states each desired state is written with (by the API's calls, an admin, or the reconciler's 'end')
    const rows = [
      ...(['pending', 'running'] as const).map((state) => ({ state, desired_state: 'running' as const })),
      ...(['running', 'stopping', 'stopped'] as const).map((state) => ({ state, desired_state: 'stopped' as const })),
      ...states.map((state) => ({ state, desired_state: 'terminated' as const })),
    ];
    for (const { state, desired_state } of rows)
      for (const j of jobs)
        for (const domain of domains) {
          let at = state;
          for (const step of plan(instance({ state, desired_state, oar_job_id: j ? 42 : null }), j, domain)) {
            const next = shownBy(step, at);
            expect(canMove(at, next!), `${state}/${desired_state}: ${at} → ${next} by ${step.do}`).to.equal(true);
            at = next!;
            checked++;
          }
        }
    expect(checked).to.be.greaterThan(100);
    expect(canMove('stopping', 'running')).to.equal(false);
    expect(canMove('shutting-down', 'running')).to.equal(false);
    expect(canMove('terminated', 'pending')).to.equal(false);
  });
});
