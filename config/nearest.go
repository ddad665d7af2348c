package config

import "strings"

// Nearest returns the name in known closest to name, for "did you mean" hints
// on a mistyped flag or environment variable; "" when none is close enough to
// be a likely typo. Case is ignored and "-" and "_" are the same.
//
// Close enough: at most a third of the letters (at least 1, at most 3) typed,
// left out, swapped with a neighbour or replaced; failing that, the one known
// name that holds name as whole words ("capacity" in "room-capacity").
func Nearest(name string, known []string) string {
	n := normalName(name)
	if n == "" {
		return ""
	}
	best, bestDist := "", min(max(1, len(n)/3), 3)+1
	for _, k := range known {
		if d := editDistance(n, normalName(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return best
	}
	var holder string
	for _, k := range known {
		if strings.Contains("-"+normalName(k)+"-", "-"+n+"-") {
			if holder != "" {
				return "" // in several: no guess
			}
			holder = k
		}
	}
	return holder
}

func normalName(s string) string {
	return strings.Trim(strings.ReplaceAll(strings.ToLower(s), "_", "-"), "-")
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each count 1.
func editDistance(a, b string) int {
	// rows i-2, i-1 and i of the table, over b's positions
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
