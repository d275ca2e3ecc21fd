/*
 * The timeline: the live totals of each event type at points in time, a
 * step apart, the step doubling whenever the points fill, so that memory
 * stays bounded however long the trace.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/internal.h"

#define POINTS_MAX 4096

/*
 * A point of the live totals as they are now, at the time of the last record
 * applied.  Taken before a record a step or more later than the last point
 * is applied, so each point shows the state at the end of its step.
 */
int timeline__note(struct model *m)
{
	struct model_point *pt;

	if (!m->points) {
		m->points = malloc(POINTS_MAX * sizeof(*m->points));
		if (!m->points)
			return -ENOMEM;
	}
	if (m->npoints == POINTS_MAX) {
		/* Full: every other point goes, and the step doubles. */
		for (size_t i = 0; i < POINTS_MAX / 2; i++)
			m->points[i] = m->points[2 * i + 1];
		m->npoints = POINTS_MAX / 2;
		m->point_step *= 2;
	}
	pt = &m->points[m->npoints++];
	pt->time = m->time;
	memcpy(pt->live, m->live_total, sizeof(pt->live));
	return 0;
}

int timeline__before(struct model *m, uint64_t time)
{
	if (!m->applied)
		return 0;
	if (m->npoints && time < m->points[m->npoints - 1].time + m->point_step)
		return 0;
	return timeline__note(m);
}
