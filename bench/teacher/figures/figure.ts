import type { Row } from '../report';

/** What each figure hands back: the rows it prints, and everything it measured for the JSON. */
export interface FigureResult {
  rows: Row[];
  details: Record<string, unknown>;
}

export const FIGURES = ['saturation', 'capacity', 'fanout', 'resume', 'early-stop', 'long-replies'] as const;
export type FigureName = (typeof FIGURES)[number];
