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
/* Per image: a process's own series, halved the same way when full. */
#define IMAGE_POINTS_MAX 1024

void live__mark(struct model *m, uint32_t img)
{
	/* Out of memory: the image's series misses this step, nothing else does. */
	if (ARRAY_RESERVE(m->dirty, m->dirty_cap, m->ndirty + 1))
		return;
	m->dirty[m->ndirty++] = img;
	m->images[img].dirty = true;
}

/* A point of each image that changed since the last one, as of now. */
static void timeline__note_images(struct model *m)
{
	for (size_t i = 0; i < m->ndirty; i++) {
		struct image *im = &m->images[m->dirty[i]];
		struct model_point *pt;

		im->dirty = false;
		if (im->nseries == IMAGE_POINTS_MAX) {
			for (size_t k = 0; k < IMAGE_POINTS_MAX / 2; k++)
				im->series[k] = im->series[2 * k + 1];
			im->nseries = IMAGE_POINTS_MAX / 2;
		}
		if (ARRAY_RESERVE(im->series, im->series_cap, im->nseries + 1))
			continue;
		pt = &im->series[im->nseries++];
		pt->time = m->time;
		memcpy(pt->live, im->live, sizeof(pt->live));
	}
	m->ndirty = 0;
}

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
	timeline__note_images(m);
	return 0;
}

void timeline__note_images_now(struct model *m)
{
	timeline__note_images(m);
}

int timeline__before(struct model *m, uint64_t time)
{
	if (!m->applied)
		return 0;
	if (m->npoints && time < m->points[m->npoints - 1].time + m->point_step)
		return 0;
	return timeline__note(m);
}
