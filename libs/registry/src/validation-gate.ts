/**
 * Validation gates: thresholds a model version's metrics must meet, either absolute
 * (`val_accuracy ≥ 0.9`) or relative to the version currently holding an alias
 * (`val_accuracy ≥ champion + 0.01`, `loss ≤ champion`). Pure logic; the result of every rule
 * (observed value, threshold, pass/fail) is stored on the version.
 */
export type GateOperator = '>=' | '<=' | '>' | '<';

export type GateRule =
  { metric: string; op: GateOperator; value: number } | { metric: string; op: GateOperator; relativeTo: { alias: string }; delta?: number };

export interface RuleResult {
  rule: GateRule;
  observed: number | null;
  threshold: number | null;
  passed: boolean;
  reason?: string;
}

export interface GateReport {
  passed: boolean;
  results: RuleResult[];
}

export type Metrics = Readonly<Record<string, number>>;

const compare = (observed: number, op: GateOperator, threshold: number): boolean => {
  switch (op) {
    case '>=':
      return observed >= threshold;
    case '<=':
      return observed <= threshold;
    case '>':
      return observed > threshold;
    case '<':
      return observed < threshold;
  }
};

/**
 * `baselines` maps alias → metrics of the version holding it. A relative rule against an alias
 * nobody holds yet passes (there is nothing to beat), and says so.
 */
export const evaluateGate = (rules: readonly GateRule[], metrics: Metrics, baselines: Readonly<Record<string, Metrics | undefined>>): GateReport => {
  const results = rules.map((rule): RuleResult => {
    const observed = metrics[rule.metric];
    if (observed === undefined || !Number.isFinite(observed)) {
      return { rule, observed: null, threshold: null, passed: false, reason: `metric ${rule.metric} was not reported` };
    }
    if ('value' in rule) return { rule, observed, threshold: rule.value, passed: compare(observed, rule.op, rule.value) };
    const baseline = baselines[rule.relativeTo.alias];
    if (!baseline) return { rule, observed, threshold: null, passed: true, reason: `no version holds ${rule.relativeTo.alias} yet` };
    const reference = baseline[rule.metric];
    if (reference === undefined) {
      return { rule, observed, threshold: null, passed: false, reason: `${rule.relativeTo.alias} has no ${rule.metric} to compare with` };
    }
    const threshold = reference + (rule.delta ?? 0);
    return { rule, observed, threshold, passed: compare(observed, rule.op, threshold) };
  });
  return { passed: results.every((result) => result.passed), results };
};
