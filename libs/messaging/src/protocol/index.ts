export * from './assignment';
export * from './block-ack';
export * from './metadata-message';
export * from './outbox-relay';
export * from './topology';
