import { MemoryBroker } from '@entity-sync/core';
import { brokerConformance } from '../src/index.js';

brokerConformance('MemoryBroker', () => {
  const broker = new MemoryBroker();
  return {
    broker: () => broker,
    outage: {
      begin: () => broker.setDown(true),
      end: () => broker.setDown(false),
    },
  };
});
