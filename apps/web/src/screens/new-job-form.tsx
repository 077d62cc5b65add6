import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, describeApiError } from '../api';
import { ErrorNote, Loading } from '../components/states';
import { parseArgv } from '../lib/argv';
import type { NewJobPrefill } from '../lib/dashboard';
import { placeFieldProblems } from '../lib/error-text';
import { fieldsFromSchema, parseGateRule, valuesFromForm } from '../lib/hyperparameter-form';

/** The form field a refused input path belongs to (`hyperparameters.epochs` → `epochs`). */
const formFieldOf = (key: string): string | undefined => {
  if (key === 'name') return 'name';
  if (key === 'datasetSnapshotId') return 'snapshot';
  if (key === 'targetModel') return 'targetModel';
  if (key.startsWith('validation')) return 'gate';
  if (key.startsWith('trainer.command')) return 'command';
  if (key === 'trainer.cwd') return 'cwd';
  if (key.startsWith('parentVersion')) return 'parent';
  if (key.startsWith('hyperparameters.')) return key.split('.')[1];
  return undefined;
};

const FieldError = ({ message }: { message: string | undefined }) => (message ? <span className="field-error">{message}</span> : null);

/** The trainer choice that runs a program (a command trainer) instead of a built-in one; no built-in name can look like it. */
const COMMAND = '(command)';

/**
 * A job from a dataset snapshot: a built-in trainer, whose hyperparameter fields come from its
 * own schema, or a command (argv, optional working directory — the local session only); either
 * may fine-tune a model version (its parent in the lineage).
 */
export const NewJobForm = ({ prefill }: { prefill?: NewJobPrefill }) => {
  const navigate = useNavigate();
  const client = useQueryClient();
  const trainers = useQuery({ queryKey: ['trainers'], queryFn: () => api.jobs.trainers.query(), staleTime: Infinity });
  const snapshots = useQuery({ queryKey: ['snapshots'], queryFn: () => api.datasets.list.query({ limit: 100 }) });
  const [name, setName] = useState('');
  const [trainerName, setTrainerName] = useState(prefill?.trainer ?? 'text-detector');
  const [snapshotId, setSnapshotId] = useState(prefill?.snapshotId ?? '');
  const [commandText, setCommandText] = useState('');
  const [cwd, setCwd] = useState('');
  const [parentModel, setParentModel] = useState('');
  const [parentVersion, setParentVersion] = useState('');
  const models = useQuery({ queryKey: ['models', 'list', 'new-job'], queryFn: () => api.models.list.query({ limit: 200 }) });
  const parentVersions = useQuery({
    queryKey: ['models', 'versions', parentModel],
    queryFn: () => api.models.listVersions.query({ model: parentModel, limit: 200 }),
    enabled: parentModel !== '',
  });
  const [targetModel, setTargetModel] = useState('');
  const [gate, setGate] = useState('');
  const [form, setForm] = useState<Record<string, string>>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  // Editing a field clears its error; the rest wait for the next submit.
  const edit = (name: string, value: string) => {
    setForm({ ...form, [name]: value });
    if (fieldErrors[name]) setFieldErrors(Object.fromEntries(Object.entries(fieldErrors).filter(([key]) => key !== name)));
  };
  const isCommand = trainerName === COMMAND;
  const trainer = isCommand ? undefined : (trainers.data?.find((candidate) => candidate.name === trainerName) ?? trainers.data?.[0]);
  const fields = trainer ? fieldsFromSchema(trainer.hyperparameters) : [];
  const create = useMutation({
    mutationFn: (input: Parameters<typeof api.jobs.create.mutate>[0]) => api.jobs.create.mutate(input),
    onSuccess: (job) => {
      void client.invalidateQueries({ queryKey: ['jobs'] });
      void navigate(`/jobs/${job.id}`);
    },
  });
  // What the server refused, under the field it belongs to; the rest is listed with the error.
  const refused = placeFieldProblems(create.error ? describeApiError(create.error).fields : [], formFieldOf);
  const problem = (field: string): string | undefined => fieldErrors[field] ?? refused.byField[field];
  if (trainers.isPending || snapshots.isPending) return <Loading what="trainers and snapshots" />;
  if (trainers.error || snapshots.error) return <ErrorNote error={trainers.error ?? snapshots.error} />;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!trainer && !isCommand) return;
    const { values, errors } = valuesFromForm(fields, form);
    const rule = gate.trim() ? parseGateRule(gate) : undefined;
    if (gate.trim() && !rule) errors['gate'] = 'write a rule like val_accuracy>=0.9';
    const argv = parseArgv(commandText);
    if (isCommand && argv.length === 0) errors['command'] = 'type the program and its arguments';
    if (parentModel && !parentVersion) errors['parent'] = 'choose a version of the model to fine-tune';
    setFieldErrors(errors);
    if (Object.keys(errors).length > 0) return;
    create.mutate({
      name: name.trim(),
      trainer: trainer ? { kind: 'builtin', name: trainer.name } : { kind: 'command', command: argv, ...(cwd.trim() ? { cwd: cwd.trim() } : {}) },
      hyperparameters: values,
      ...(snapshotId ? { datasetSnapshotId: snapshotId } : {}),
      ...(targetModel.trim() ? { targetModel: targetModel.trim() } : {}),
      ...(rule ? { validation: [rule] } : {}),
      ...(parentModel && parentVersion ? { parentVersion: { model: parentModel, version: Number(parentVersion) } } : {}),
    });
  };
  return (
    <form className="form-grid" onSubmit={submit} aria-label="New training job">
      <label>
        Name <input value={name} onChange={(event) => setName(event.target.value)} required maxLength={200} aria-invalid={Boolean(problem('name'))} />
        <FieldError message={problem('name')} />
      </label>
      <label>
        Dataset snapshot{' '}
        <select value={snapshotId} onChange={(event) => setSnapshotId(event.target.value)} required={!isCommand}>
          <option value="">{isCommand ? 'none' : 'choose…'}</option>
          {snapshots.data?.items.map((snapshot) => (
            <option key={snapshot.id} value={snapshot.id}>
              {snapshot.name} ({snapshot.totalCount} pairs)
            </option>
          ))}
        </select>
        <FieldError message={problem('snapshot')} />
      </label>
      <label>
        Trainer{' '}
        <select value={isCommand ? COMMAND : (trainer?.name ?? '')} onChange={(event) => setTrainerName(event.target.value)}>
          {trainers.data?.map((candidate) => (
            <option key={candidate.name} value={candidate.name}>
              {candidate.name}
            </option>
          ))}
          <option value={COMMAND}>command (run a program)</option>
        </select>
      </label>
      <label>
        Register as model{' '}
        <input
          value={targetModel}
          onChange={(event) => setTargetModel(event.target.value)}
          placeholder="optional"
          aria-invalid={Boolean(problem('targetModel'))}
        />
        <FieldError message={problem('targetModel')} />
      </label>
      <label>
        Validation gate{' '}
        <input value={gate} onChange={(event) => setGate(event.target.value)} placeholder="e.g. val_accuracy>=0.9" aria-invalid={Boolean(problem('gate'))} />
        <FieldError message={problem('gate')} />
      </label>
      {trainer && <p className="muted wide">{trainer.description}</p>}
      {isCommand && (
        <>
          <p className="muted wide">
            Runs the program as a trainer, with exactly these arguments (no shell), in the job's own directory unless a working directory is given. Only this
            machine's own session may start one; it runs as the server's user.
          </p>
          <label className="wide">
            Command — one argument per line, or words on one line
            <textarea
              value={commandText}
              onChange={(event) => setCommandText(event.target.value)}
              rows={3}
              placeholder={'python3 train.py --epochs 3'}
              spellCheck={false}
              aria-invalid={Boolean(problem('command'))}
            />
            <FieldError message={problem('command')} />
          </label>
          <label className="wide">
            Working directory{' '}
            <input
              value={cwd}
              onChange={(event) => setCwd(event.target.value)}
              placeholder="optional, an absolute path on this machine"
              aria-invalid={Boolean(problem('cwd'))}
            />
            <FieldError message={problem('cwd')} />
          </label>
        </>
      )}
      <fieldset className="wide">
        <legend>Fine-tune (optional)</legend>
        <div className="form-grid">
          <label>
            Fine-tune from{' '}
            <select
              value={parentModel}
              onChange={(event) => {
                setParentModel(event.target.value);
                setParentVersion('');
              }}
            >
              <option value="">nothing (train from scratch)</option>
              {models.data?.items.map((model) => (
                <option key={model.id} value={model.name}>
                  {model.name}
                </option>
              ))}
            </select>
          </label>
          {parentModel && (
            <label>
              Parent version{' '}
              <select value={parentVersion} onChange={(event) => setParentVersion(event.target.value)} aria-invalid={Boolean(problem('parent'))}>
                <option value="">{parentVersions.isPending ? 'loading…' : 'choose…'}</option>
                {parentVersions.data?.items.map((version) => (
                  <option key={version.id} value={version.version}>
                    v{version.version}
                    {version.aliases.length > 0 ? ` (${version.aliases.join(', ')})` : ''}
                    {version.active ? ' — active' : ''}
                  </option>
                ))}
              </select>
              <FieldError message={problem('parent')} />
            </label>
          )}
        </div>
      </fieldset>
      {!isCommand && (
        <fieldset className="wide">
          <legend>Hyperparameters</legend>
          <div className="form-grid">
            {fields.map((field) => (
              <label key={field.name}>
                {field.name}{' '}
                {field.kind === 'boolean' ? (
                  <select value={form[field.name] ?? field.defaultValue} onChange={(event) => edit(field.name, event.target.value)}>
                    <option value="true">true</option>
                    <option value="false">false</option>
                  </select>
                ) : (
                  <input
                    name={field.name}
                    inputMode={field.kind === 'text' ? 'text' : 'decimal'}
                    placeholder={field.defaultValue || undefined}
                    value={form[field.name] ?? ''}
                    onChange={(event) => edit(field.name, event.target.value)}
                    aria-invalid={Boolean(problem(field.name))}
                    title={[field.description, field.min !== undefined ? `min ${field.min}` : '', field.max !== undefined ? `max ${field.max}` : '']
                      .filter(Boolean)
                      .join(', ')}
                  />
                )}
                <FieldError message={problem(field.name)} />
              </label>
            ))}
          </div>
        </fieldset>
      )}
      {create.error && <ErrorNote error={create.error} fields={refused.rest} />}
      <button type="submit" disabled={create.isPending}>
        Start job
      </button>
    </form>
  );
};
