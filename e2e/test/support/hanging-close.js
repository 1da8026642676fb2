// Preloaded into the launcher (NODE_OPTIONS=--require): the first Nest application it closes never finishes
// closing, as one whose shutdown step hangs; the others close as usual.
const { NestApplication } = require('@nestjs/core');

const close = NestApplication.prototype.close;
let hung = false;
NestApplication.prototype.close = function (...args) {
  if (hung) return close.apply(this, args);
  hung = true;
  return new Promise(() => undefined);
};
