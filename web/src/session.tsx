import { createContext, useContext } from "react";
import { ApiError, api, request } from "./api";
import type { ListOf, Model } from "./types";

// Signed in with an aihub key, kept in sessionStorage (gone when the tab closes). Admin or
// not is whatever aihub says: GET /admin/keys answers 200 to an admin key and 403 to others.

export const STORAGE_KEY = "aihub.key";

export interface Session {
  key: string;
  admin: boolean;
  signOut: (message?: string) => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function storeKey(key: string | null): void {
  try {
    if (key) sessionStorage.setItem(STORAGE_KEY, key);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage disabled: the session lasts as long as the page
  }
}

/** Checks a key with aihub: whether it is valid, and whether it is an admin's. */
export async function checkKey(key: string, signal?: AbortSignal): Promise<{ admin: boolean }> {
  try {
    await api<ListOf<Model>>("/v1/models", { key, signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      throw new ApiError(401, `aihub did not accept this key: ${error.message}`, error.code);
    }
    throw error;
  }
  try {
    await request("/admin/keys?limit=1", { key, signal });
    return { admin: true };
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return { admin: false };
    throw error;
  }
}
