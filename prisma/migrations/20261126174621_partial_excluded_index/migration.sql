-- DropIndex
DROP INDEX "TrainingDataPoint_excluded_id_idx";


-- Written by hand (Prisma 6 cannot express partial indexes; see schema.prisma): only excluded
-- points are indexed, so listing them stays an index scan while imports of included points
-- pay no insert into this index.
CREATE INDEX "TrainingDataPoint_excluded_partial_idx" ON "TrainingDataPoint"("id") WHERE "excluded";
