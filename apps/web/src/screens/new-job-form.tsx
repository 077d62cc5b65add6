import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, describeApiError } from '../api';
import { ErrorNote, Loading } from '../components/states';
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

/** A job from a dataset snapshot; the hyperparameter fields come from the trainer's own schema. */
export const NewJobForm = () => {
  const navigate = useNavigate();
  const client = useQueryClient();
  const trainers = useQuery({ queryKey: ['trainers'], queryFn: () => api.jobs.trainers.query(), staleTime: Infinity });
  const snapshots = useQuery({ queryKey: ['snapshots'], queryFn: () => api.datasets.list.query({ limit: 100 }) });
  const [name, setName] = useState('');
  const [trainerName, setTrainerName] = useState('text-detector');
  const [snapshotId, setSnapshotId] = useState('');
  const [targetModel, setTargetModel] = useState('');
  const [gate, setGate] = useState('');
  const [form, setForm] = useState<Record<string, string>>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  // Editing a field clears its error; the rest wait for the next submit.
  const edit = (name: string, value: string) => {
    setForm({ ...form, [name]: value });
    if (fieldErrors[name]) setFieldErrors(Object.fromEntries(Object.entries(fieldErrors).filter(([key]) => key !== name)));
  };
  const trainer = trainers.data?.find((candidate) => candidate.name === trainerName) ?? trainers.data?.[0];
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
    if (!trainer) return;
    const { values, errors } = valuesFromForm(fields, form);
    const rule = gate.trim() ? parseGateRule(gate) : undefined;
    if (gate.trim() && !rule) errors['gate'] = 'write a rule like val_accuracy>=0.9';
    setFieldErrors(errors);
    if (Object.keys(errors).length > 0) return;
    create.mutate({
      name: name.trim(),
      trainer: { kind: 'builtin', name: trainer.name },
      hyperparameters: values,
      ...(snapshotId ? { datasetSnapshotId: snapshotId } : {}),
      ...(targetModel.trim() ? { targetModel: targetModel.trim() } : {}),
      ...(rule ? { validation: [rule] } : {}),
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
        <select value={snapshotId} onChange={(event) => setSnapshotId(event.target.value)} required>
          <option value="">choose…</option>
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
        <select value={trainer?.name ?? ''} onChange={(event) => setTrainerName(event.target.value)}>
          {trainers.data?.map((candidate) => (
            <option key={candidate.name} value={candidate.name}>
              {candidate.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Register as model <input value={targetModel} onChange={(event) => setTargetModel(event.target.value)} placeholder="optional" aria-invalid={Boolean(problem('targetModel'))} />
        <FieldError message={problem('targetModel')} />
      </label>
      <label>
        Validation gate <input value={gate} onChange={(event) => setGate(event.target.value)} placeholder="e.g. val_accuracy>=0.9" aria-invalid={Boolean(problem('gate'))} />
        <FieldError message={problem('gate')} />
      </label>
      {trainer && <p className="muted wide">{trainer.description}</p>}
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
                  title={[field.description, field.min !== undefined ? `min ${field.min}` : '', field.max !== undefined ? `max ${field.max}` : ''].filter(Boolean).join(', ')}
                />
              )}
              <FieldError message={problem(field.name)} />
            </label>
          ))}
        </div>
      </fieldset>
      {create.error && <ErrorNote error={create.error} fields={refused.rest} />}
      <button type="submit" disabled={create.isPending}>
        Start job
      </button>
    </form>
  );
};
