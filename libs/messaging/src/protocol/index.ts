export * from './assignment';
export * from './block-ack';
export * from './deadlines';
export * from './metadata-message';
export * from './outbox-relay';
export * from './topology';
