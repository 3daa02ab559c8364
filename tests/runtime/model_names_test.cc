// ModelNames, the library's name resolution for every front door: aliases and profiles, the task
// check, and a profile's system prompt put in front of a chat or a plain prompt.
#include "modelrt/model_names.h"

#include <gtest/gtest.h>

#include "runtime_test_util.h"

namespace modelrt::runtime_test {
namespace {

ProfileSpec Storyteller() {
  ProfileSpec profile;
  profile.name = "storyteller";
  profile.model = "chat";
  profile.system = "Tell a short story.";
  return profile;
}

TEST(ModelNamesTest, AnAliasResolvesToItselfAndAProfileToItsAlias) {
  auto runtime = BuildRuntime(MakeLlama(), {ChatSpec("chat"), EmbedSpec("embed")});
  ModelNames names(*runtime, {Storyteller()});

  Result<ResolvedModel> alias = names.Resolve("chat", Task::kGenerate, "/v1/chat/completions");
  ASSERT_TRUE(alias.ok()) << alias.error().ToString();
  EXPECT_EQ(alias->alias, "chat");
  EXPECT_FALSE(alias->profile.has_value());

  Result<ResolvedModel> profile = names.Resolve("storyteller", Task::kGenerate, "generate");
  ASSERT_TRUE(profile.ok()) << profile.error().ToString();
  EXPECT_EQ(profile->name, "storyteller");
  EXPECT_EQ(profile->alias, "chat");
  ASSERT_TRUE(profile->profile.has_value());

  Result<ResolvedModel> unknown = names.Resolve("nope", Task::kGenerate, "generate");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.error().message().find("'nope'"), std::string::npos);

  Result<ResolvedModel> mismatch = names.Resolve("embed", Task::kGenerate, "/v1/completions");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message().find("/v1/completions needs a generate model"),
            std::string::npos)
      << mismatch.error().message();

  EXPECT_EQ(names.FirstAliasFor(Task::kEmbed), "embed");
  EXPECT_FALSE(names.FirstAliasFor(Task::kRerank).has_value());
  std::vector<ModelListing> listed = names.List();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed.back().id, "storyteller");
  EXPECT_TRUE(listed.back().is_profile);
  EXPECT_EQ(listed.back().alias, "chat");
}

TEST(ModelNamesTest, AProfilesSystemPromptLeadsAChatAndAPlainPrompt) {
  ResolvedModel model;
  model.alias = "chat";
  model.profile = Storyteller();

  GenerateRequest chat;
  chat.messages = {{"user", "Once"}};
  model.ApplyTo(chat);
  ASSERT_EQ(chat.messages.size(), 2u);
  EXPECT_EQ(chat.messages[0].role, "system");
  EXPECT_EQ(chat.messages[0].content, "Tell a short story.");
  EXPECT_EQ(chat.messages[1].content, "Once");

  GenerateRequest plain;
  plain.prompt = "Once";
  model.ApplyTo(plain);
  EXPECT_EQ(plain.prompt, "Tell a short story.\n\nOnce");

  ResolvedModel bare;  // an alias, or a profile without a system prompt: nothing changes
  bare.alias = "chat";
  GenerateRequest untouched;
  untouched.prompt = "Once";
  bare.ApplyTo(untouched);
  EXPECT_EQ(untouched.prompt, "Once");
}

}  // namespace
}  // namespace modelrt::runtime_test
