export * from './scoring.service';
export * from './synthetic-pairs';
export * from './text-detector.builtin';
export * from './text-detector/detector';
export * from './text-detector/features';
export * from './text-detector/logistic-regression';
export * from './text-detector/train';
export * from './trainer-sdk';
