/**
 * "The network's wanted state changed": raised by the domain after a write that the data plane must follow (a
 * security group rule, a membership, an address), so that the rule sync runs at once instead of at its next tick.
 */
import { EventEmitter } from 'node:events';

class ChangeSignal extends EventEmitter {
  raise(): void {
    this.emit('change');
  }
  onChange(listener: () => void): () => void {
    this.on('change', listener);
    return () => this.off('change', listener);
  }
}

export const changeSignal = new ChangeSignal();
